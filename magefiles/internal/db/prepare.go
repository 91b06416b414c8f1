package db

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
	"github.com/tasker-systems/tasker-build/magefiles/internal/workspace"
)

// QueryCacheDir is sqlx's offline query cache at the workspace root: one
// query-<sha256 of the SQL>.json per checked query, which the macros read
// when SQLX_OFFLINE=true (the build's default, see env.Known).
const QueryCacheDir = ".sqlx"

// Prepare is db:prepare: sqlx-cli's `cargo sqlx prepare --workspace`
// against a fresh clone of the migrated template (dropped afterwards, also
// on Ctrl-C), rewriting .sqlx for every crate that uses sqlx.
func Prepare(ctx context.Context, s *session.S) error {
	return prepare(ctx, s, s.Run, false)
}

// PrepareCheck is db:prepareCheck: sqlx-cli's `prepare --check` on a fresh
// clone; a stale .sqlx fails (exit 1) naming each query that differs.
func PrepareCheck(ctx context.Context, s *session.S) error {
	return prepare(ctx, s, s.Run, true)
}

// PrepareCheckStep is db:prepareCheck as a step (ci:codeQuality). It
// compiles, so it takes the heavy slot; it sets the database up itself
// (the clone needs the migrated template), so it may run alongside db:setup.
func PrepareCheckStep(s *session.S) run.Step {
	return run.Step{Name: "db:prepareCheck", Heavy: true, Do: func(ctx context.Context, r *run.Runner) error {
		return prepare(ctx, s.On(r), r, true)
	}}
}

// sqlxWorkspace is what prepare reads of `cargo metadata --no-deps`.
type sqlxWorkspace struct {
	Root     string          `json:"workspace_root"`
	Target   string          `json:"target_directory"`
	Packages []sqlxWsPackage `json:"packages"`
}

type sqlxWsPackage struct {
	Name         string `json:"name"`
	ManifestPath string `json:"manifest_path"`
	Dependencies []struct {
		Name string `json:"name"`
	} `json:"dependencies"`
}

// sqlxCrate is a workspace member that depends on sqlx: its queries are
// the cache's.
type sqlxCrate struct{ Package, Dir string }

// crates are the members depending on sqlx, but not the language workers'
// extensions: the rust: targets never compile those (each needs its
// language's headers), and their queries, if any, would be in the crates
// they wrap.
func (w sqlxWorkspace) crates() []sqlxCrate {
	var out []sqlxCrate
	for _, p := range w.Packages {
		if slices.ContainsFunc(workspace.Extensions, func(e workspace.Extension) bool { return e.Package == p.Name }) {
			continue
		}
		for _, d := range p.Dependencies {
			if d.Name == "sqlx" {
				out = append(out, sqlxCrate{Package: p.Name, Dir: filepath.Dir(p.ManifestPath)})
				break
			}
		}
	}
	return out
}

func prepare(ctx context.Context, s *session.S, r *run.Runner, check bool) error {
	if err := s.Need(ctx, r, "", "cargo", "sqlx-cli"); err != nil {
		return err
	}
	// The sqlx command and cargo metadata see the same target directory:
	// with sccache on the session passes CARGO_TARGET_DIR as a flag, which
	// `cargo sqlx` does not take.
	var env []string
	if dir := s.Env.Get("CARGO_TARGET_DIR"); dir != "" {
		env = append(env, "CARGO_TARGET_DIR="+s.TargetDir())
	}
	meta := s.Cmd(".", "cargo", "metadata", "--no-deps", "--format-version", "1")
	meta.Env = env
	out, err := r.Output(ctx, meta)
	if err != nil {
		return err
	}
	var ws sqlxWorkspace
	if err := json.Unmarshal([]byte(out), &ws); err != nil {
		return fmt.Errorf("reading cargo metadata: %w", err)
	}
	crates := ws.crates()
	if len(crates) == 0 {
		r.Infof("no workspace crate depends on sqlx: there is no query cache to prepare")
		return nil
	}
	return WithClone(ctx, s.On(r), "sqlx", func(url string) error {
		// sqlx-cli runs `cargo check` with what follows `--`: the crates
		// with queries, tests and benches included.
		argv := []string{"cargo", "sqlx", "prepare", "--workspace"}
		if check {
			argv = append(argv, "--check")
		}
		argv = append(argv, "--")
		for _, c := range crates {
			argv = append(argv, "-p", c.Package)
		}
		argv = append(argv, "--all-targets")
		if check {
			// Diagnostics still reach the terminal; the JSON on stdout
			// says whether the compile finished, so a compile error is not
			// taken for a stale cache.
			argv = append(argv, "--message-format=json-render-diagnostics")
		}
		c := s.Cmd(".", argv...)
		// The macros compile against the clone (sqlx-cli sets
		// SQLX_OFFLINE=false for its cargo check as well).
		c.Env = append(slices.Clone(env), "DATABASE_URL="+url, "SQLX_OFFLINE=false")
		var filter *buildFilter
		if check {
			c.Filter = func(w io.Writer) io.WriteCloser {
				filter = newBuildFilter(w)
				return filter
			}
		}
		runErr := r.Run(ctx, c)
		switch {
		case !check:
			if runErr == nil && !r.DryRun() {
				r.Infof("wrote %s/ for %s", QueryCacheDir, crateNames(crates))
			}
			return runErr
		case r.DryRun(), ctx.Err() != nil:
			return runErr
		case runErr != nil && (filter == nil || !filter.success):
			// cargo check failed (a query the schema refuses, a compile
			// error) or sqlx-cli could not connect: their output says why.
			return runErr
		}
		// sqlx-cli's check writes what the code needs to
		// <target>/sqlx-prepare-check and stops at the first difference;
		// list them all (and unused entries, which it only warns about).
		stale, err := compareQueries(filepath.Join(ws.Target, "sqlx-prepare-check"), filepath.Join(ws.Root, QueryCacheDir), crates, ws.Root)
		if err != nil {
			return err
		}
		if len(stale) == 0 {
			if runErr != nil {
				return runErr
			}
			r.Infof("%s matches the queries of %s and the migrated schema", QueryCacheDir, crateNames(crates))
			return nil
		}
		return StaleError(stale)
	})
}

func crateNames(cs []sqlxCrate) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Package
	}
	return strings.Join(names, ", ")
}

// buildFilter passes a command's output through, except cargo's JSON
// messages, of which it keeps whether the build finished successfully.
type buildFilter struct {
	w       io.Writer
	pw      *io.PipeWriter
	done    chan struct{}
	success bool
}

func newBuildFilter(w io.Writer) *buildFilter {
	pr, pw := io.Pipe()
	f := &buildFilter{w: w, pw: pw, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
		for sc.Scan() {
			line := sc.Bytes()
			var msg struct {
				Reason  string `json:"reason"`
				Success bool   `json:"success"`
			}
			if bytes.HasPrefix(line, []byte("{")) && json.Unmarshal(line, &msg) == nil && msg.Reason != "" {
				if msg.Reason == "build-finished" {
					f.success = msg.Success
				}
				continue
			}
			_, _ = f.w.Write(append(line, '\n'))
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	return f
}

func (f *buildFilter) Write(p []byte) (int, error) { return f.pw.Write(p) }

// Close waits for the last line, so success is final once the command's
// Run returns.
func (f *buildFilter) Close() error {
	_ = f.pw.Close()
	<-f.done
	return nil
}

// StaleQuery is one difference between .sqlx and what the code needs.
type StaleQuery struct {
	File  string // query-<hash>.json
	Kind  string // "missing", "changed" or "unused"
	SQL   string // the query's first line
	Where string // file:line (crate) of the query in the code; "" when it is no longer there
}

// compareQueries compares the query files sqlx generated (want) with the
// cache (have), by name (the SQL's hash) and content (parameter and column
// types as the schema describes them).
func compareQueries(wantDir, haveDir string, crates []sqlxCrate, root string) ([]StaleQuery, error) {
	want, err := readQueries(wantDir)
	if err != nil {
		return nil, err
	}
	have, err := readQueries(haveDir)
	if err != nil {
		return nil, err
	}
	where := locateQueries(crates, root)
	var out []StaleQuery
	for _, name := range sortedKeys(want) {
		q := want[name]
		switch h, ok := have[name]; {
		case !ok:
			out = append(out, StaleQuery{File: name, Kind: "missing", SQL: firstLine(q.sql), Where: where[name]})
		case !reflect.DeepEqual(h.data, q.data):
			out = append(out, StaleQuery{File: name, Kind: "changed", SQL: firstLine(q.sql), Where: where[name]})
		}
	}
	for _, name := range sortedKeys(have) {
		if _, ok := want[name]; !ok {
			out = append(out, StaleQuery{File: name, Kind: "unused", SQL: firstLine(have[name].sql), Where: where[name]})
		}
	}
	return out, nil
}

// StaleError is db:prepareCheck's failure: each stale query and the fix.
func StaleError(stale []StaleQuery) error {
	var b strings.Builder
	fmt.Fprintf(&b, "the sqlx query cache %s/ is stale (%d %s):", QueryCacheDir, len(stale), plural(len(stale), "query", "queries"))
	for _, q := range stale {
		where := q.Where
		if where == "" {
			where = "no longer in the code"
		}
		what := map[string]string{
			"missing": "not in the cache (a new or changed query)",
			"changed": "the schema changed its parameter or column types",
			"unused":  "in the cache, but no query of the code has this SQL",
		}[q.Kind]
		fmt.Fprintf(&b, "\n  %s %s: %s\n      %s; %s", q.Kind, q.File, where, q.SQL, what)
	}
	b.WriteString("\nfix: run `mage db:prepare` and commit " + QueryCacheDir + "/")
	return fail.New(fail.Failed, "%s", b.String())
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

type queryFile struct {
	sql  string
	data any
}

// readQueries reads dir's query-*.json files (none when dir is missing).
func readQueries(dir string) (map[string]queryFile, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "query-*.json"))
	if err != nil {
		return nil, err
	}
	out := map[string]queryFile{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var q queryFile
		if err := json.Unmarshal(b, &q.data); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if m, ok := q.data.(map[string]any); ok {
			q.sql, _ = m["query"].(string)
		}
		out[filepath.Base(p)] = q
	}
	return out, nil
}

func sortedKeys(m map[string]queryFile) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// firstLine is the SQL's first non-empty line, shortened.
func firstLine(sql string) string {
	for _, l := range strings.Split(sql, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			if utf8.RuneCountInString(l) > 100 {
				l = string([]rune(l)[:100]) + "…"
			}
			return l
		}
	}
	return "(empty query)"
}

// queryMacro finds sqlx's query macros; group 1 is "file" for the
// query_file family, whose argument is a path relative to the crate.
var queryMacro = regexp.MustCompile(`\bquery(_file)?(?:_as|_scalar)?(?:_unchecked)?!\s*\(`)

// locateQueries maps each query file name (query-<sha256 of the SQL>.json)
// to where the code has that query: "path:line (crate)", path relative to
// root. The SQL is what sqlx hashes: the string literal's value, or the
// query file's contents.
func locateQueries(crates []sqlxCrate, root string) map[string]string {
	out := map[string]string{}
	for _, c := range crates {
		_ = filepath.WalkDir(c.Dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if d.IsDir() {
				if name := d.Name(); path != c.Dir && (name == "target" || strings.HasPrefix(name, ".")) {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".rs") {
				return nil
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return nil
			}
			rel, _ := filepath.Rel(root, path)
			for _, m := range queryMacro.FindAllSubmatchIndex(src, -1) {
				lit, ok := firstStringLiteral(src[m[1]:])
				if !ok {
					continue
				}
				sql := lit
				if m[2] >= 0 { // query_file!: the file's contents
					b, err := os.ReadFile(filepath.Join(c.Dir, lit))
					if err != nil {
						continue
					}
					sql = string(b)
				}
				sum := sha256.Sum256([]byte(sql))
				line := 1 + bytes.Count(src[:m[0]], []byte("\n"))
				out["query-"+hex.EncodeToString(sum[:])+".json"] = fmt.Sprintf("%s:%d (%s)", filepath.ToSlash(rel), line, c.Package)
			}
			return nil
		})
	}
	return out
}

// firstStringLiteral reads the first Rust string literal of a macro's
// arguments (after query_as!'s type), and its value. Only a type path may
// come before it.
func firstStringLiteral(src []byte) (string, bool) {
	for i := 0; i < len(src); i++ {
		ch := src[i]
		switch {
		case ch == '"':
			return cookedString(src[i+1:])
		case ch == 'r' && (i == 0 || !isIdent(src[i-1])) && i+1 < len(src) && (src[i+1] == '"' || src[i+1] == '#'):
			return rawString(src[i+1:])
		case isIdent(ch) || strings.IndexByte(" \t\r\n:<>,&'", ch) >= 0:
			continue
		default:
			return "", false
		}
	}
	return "", false
}

func isIdent(ch byte) bool {
	return ch == '_' || ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z'
}

// rawString reads r#"..."# from after the r.
func rawString(src []byte) (string, bool) {
	hashes := 0
	for hashes < len(src) && src[hashes] == '#' {
		hashes++
	}
	if hashes >= len(src) || src[hashes] != '"' {
		return "", false
	}
	body := src[hashes+1:]
	end := bytes.Index(body, append([]byte{'"'}, bytes.Repeat([]byte{'#'}, hashes)...))
	if end < 0 {
		return "", false
	}
	return string(body[:end]), true
}

// cookedString reads a "..." literal's value from after the opening quote:
// Rust's escapes, and a backslash at a line's end skipping the line break
// and the next line's leading whitespace.
func cookedString(src []byte) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(src); i++ {
		ch := src[i]
		switch ch {
		case '"':
			return b.String(), true
		case '\\':
			if i+1 >= len(src) {
				return "", false
			}
			i++
			switch e := src[i]; e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '0':
				b.WriteByte(0)
			case '\\', '"', '\'':
				b.WriteByte(e)
			case 'x':
				if i+2 >= len(src) {
					return "", false
				}
				v, err := strconv.ParseUint(string(src[i+1:i+3]), 16, 8)
				if err != nil {
					return "", false
				}
				b.WriteByte(byte(v))
				i += 2
			case 'u':
				end := bytes.IndexByte(src[i:], '}')
				if i+1 >= len(src) || src[i+1] != '{' || end < 0 {
					return "", false
				}
				v, err := strconv.ParseUint(strings.ReplaceAll(string(src[i+2:i+end]), "_", ""), 16, 32)
				if err != nil {
					return "", false
				}
				b.WriteRune(rune(v))
				i += end
			case '\n', '\r':
				for i+1 < len(src) && strings.IndexByte(" \t\r\n", src[i+1]) >= 0 {
					i++
				}
			default:
				return "", false
			}
		default:
			b.WriteByte(ch)
		}
	}
	return "", false
}
