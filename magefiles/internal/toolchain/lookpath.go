package toolchain

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
)

// pgBinGlobs are where distributions keep PostgreSQL's binaries when they
// are not on PATH (Debian/Ubuntu put only wrappers for the client tools
// there; Homebrew's postgresql@N and libpq are keg-only: not linked into
// its bin/).
var pgBinGlobs = []string{
	"/usr/lib/postgresql/*/bin",
	"/opt/homebrew/opt/postgresql@*/bin",
	"/usr/local/opt/postgresql@*/bin",
	"/opt/homebrew/opt/libpq/bin",
	"/usr/local/opt/libpq/bin",
	"/usr/pgsql-*/bin",
}

// LookPath finds bin in pathEnv (a PATH value; os.Getenv("PATH") when
// empty). For PostgreSQL's binaries (initdb, pg_ctl, postgres, pg_isready,
// psql) it also searches the distribution directories, newest version
// first, because Debian and Homebrew do not put them on PATH.
func LookPath(pathEnv, bin string) (string, error) {
	if pathEnv == "" {
		pathEnv = os.Getenv("PATH")
	}
	p, err := run.LookPath(pathEnv, bin)
	if err == nil || !isPostgresServerBin(bin) {
		return p, err
	}
	for _, g := range pgBinGlobs {
		dirs, _ := filepath.Glob(g)
		sort.Sort(sort.Reverse(byVersion(dirs)))
		if p, perr := run.LookPath(strings.Join(dirs, string(filepath.ListSeparator)), bin); perr == nil {
			return p, nil
		}
	}
	return "", err
}

func isPostgresServerBin(bin string) bool {
	switch bin {
	case "initdb", "pg_ctl", "postgres", "pg_isready", "pg_config", "psql":
		return true
	}
	return false
}

// byVersion orders paths like /usr/lib/postgresql/9.6/bin < .../15/bin by
// the numbers in them, compared as numbers: 9.6 before 10 before 15.
type byVersion []string

func (b byVersion) Len() int           { return len(b) }
func (b byVersion) Swap(i, j int)      { b[i], b[j] = b[j], b[i] }
func (b byVersion) Less(i, j int) bool { return slices.Compare(versionOf(b[i]), versionOf(b[j])) < 0 }

// versionOf is the runs of digits in p, as numbers.
func versionOf(p string) []int {
	var out []int
	for _, run := range strings.FieldsFunc(p, func(r rune) bool { return r < '0' || r > '9' }) {
		n, _ := strconv.Atoi(run)
		out = append(out, n)
	}
	return out
}

// kegBins are Homebrew's keg-only formulas whose programs the build runs:
// Homebrew keeps them off PATH so as not to shadow macOS's own (an old
// Ruby in /usr/bin).
var kegBins = []string{"/opt/homebrew/opt/ruby/bin", "/usr/local/opt/ruby/bin"}

// PreferredDirs are the directories to put in front of PATH on p: the
// keg-only formulas that are installed, on macOS.
func PreferredDirs(p Platform) []string {
	if p.GOOS != "darwin" {
		return nil
	}
	var out []string
	for _, d := range kegBins {
		if fileExists(d) {
			out = append(out, d)
		}
	}
	return out
}
