// Package source reads a migrations directory in either layout the build
// system supports, and writes new migration files.
//
//   - migrate (golang-migrate): NNNN_name.up.sql with an optional NNNN_name.down.sql.
//   - sqlx (tasker-core): <version>_<description>.sql, or reversible
//     <version>_<description>.up.sql / .down.sql pairs. sqlx records
//     description = the name tail with '_' turned into ' '.
//
// Files that match neither pattern are reported as ignored (golang-migrate
// skips them silently, which hides typos like 0003_x.sql).
package source

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
)

// Layout names a directory format.
type Layout string

const (
	Migrate Layout = "migrate" // golang-migrate
	SQLx    Layout = "sqlx"    // sqlx (tasker-core)
)

// Migration is one version: its up file and, if any, its down file.
type Migration struct {
	Version     int64
	Name        string // file stem without the .up.sql/.down.sql/.sql suffix: "0002_tasks"
	Description string // sqlx's description: the tail after "<version>_", '_' → ' '
	Up          string // base name of the file that applies it
	Down        string // base name of the file that reverts it ("" if none)
}

// Dir is a parsed migrations directory.
type Dir struct {
	Path       string // absolute
	Layout     Layout
	Migrations []Migration // ascending by version
	Ignored    []string    // *.sql files that match no pattern
}

var (
	// golang-migrate's own pattern, restricted to .sql.
	migrateRe = regexp.MustCompile(`^([0-9]+)_(.*)\.(up|down)\.sql$`)
	// sqlx: "<i64>_<anything>.sql".
	sqlxRe = regexp.MustCompile(`^([0-9]+)_(.+)\.sql$`)
)

// Detect picks the layout of dir: setting wins when it is "migrate" or
// "sqlx"; otherwise (""/"auto") a directory with any plain <v>_<name>.sql
// file is sqlx, and anything else is migrate. Reversible-only sqlx
// directories look like golang-migrate ones: set TASKER_MIGRATIONS_LAYOUT=sqlx.
func Detect(dir, setting string) (Layout, error) {
	switch strings.ToLower(strings.TrimSpace(setting)) {
	case "migrate", "golang-migrate":
		return Migrate, nil
	case "sqlx":
		return SQLx, nil
	case "", "auto":
	default:
		return "", fail.New(fail.Config, "TASKER_MIGRATIONS_LAYOUT=%q is not one of migrate, sqlx, auto", setting)
	}
	names, err := sqlFiles(dir)
	if err != nil {
		return "", err
	}
	for _, n := range names {
		if sqlxRe.MatchString(n) && !migrateRe.MatchString(n) {
			return SQLx, nil
		}
	}
	return Migrate, nil
}

func sqlFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fail.New(fail.Config, "migrations directory %s does not exist; set TASKER_MIGRATIONS_DIR or create it with `mage db:new <name>`", dir)
		}
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".sql") {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// Load parses dir in the given layout.
func Load(dir string, layout Layout) (*Dir, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	names, err := sqlFiles(dir)
	if err != nil {
		return nil, err
	}
	d := &Dir{Path: dir, Layout: layout}
	byVersion := map[int64]*Migration{}
	get := func(v int64, stem, desc string) (*Migration, error) {
		m := byVersion[v]
		if m == nil {
			m = &Migration{Version: v, Name: stem, Description: desc}
			byVersion[v] = m
		} else if m.Name != stem {
			return nil, fail.New(fail.Config, "two migrations with version %d in %s: %s and %s; renumber one", v, dir, m.Name, stem)
		}
		return m, nil
	}
	for _, n := range names {
		var v int64
		var stem, kind string
		switch layout {
		case Migrate:
			sm := migrateRe.FindStringSubmatch(n)
			if sm == nil {
				d.Ignored = append(d.Ignored, n)
				continue
			}
			v, err = strconv.ParseInt(sm[1], 10, 64)
			stem, kind = sm[1]+"_"+sm[2], sm[3]
		case SQLx:
			sm := sqlxRe.FindStringSubmatch(n)
			if sm == nil {
				d.Ignored = append(d.Ignored, n)
				continue
			}
			v, err = strconv.ParseInt(sm[1], 10, 64)
			stem, kind = SQLxStem(n)
		default:
			return nil, fmt.Errorf("unknown layout %q", layout)
		}
		if err != nil || v <= 0 {
			return nil, fail.New(fail.Config, "migration %s in %s: the version must be a positive 64-bit number", n, dir)
		}
		m, err := get(v, stem, sqlxDescription(n))
		if err != nil {
			return nil, err
		}
		switch {
		case kind == "down" && m.Down == "":
			m.Down = n
		case kind != "down" && m.Up == "":
			m.Up = n
		default:
			return nil, fail.New(fail.Config, "two %s files for version %d in %s; remove one", kind, v, dir)
		}
	}
	for _, m := range byVersion {
		if m.Up == "" {
			return nil, fail.New(fail.Config, "migration %d in %s has a down file (%s) but no up file", m.Version, dir, m.Down)
		}
		d.Migrations = append(d.Migrations, *m)
	}
	sort.Slice(d.Migrations, func(i, j int) bool { return d.Migrations[i].Version < d.Migrations[j].Version })
	sort.Strings(d.Ignored)
	return d, nil
}

// SQLxStem splits an sqlx file name into its stem and kind ("up", "down" or
// "" for a simple migration).
func SQLxStem(name string) (stem, kind string) {
	for _, k := range []string{"up", "down"} {
		if s, ok := strings.CutSuffix(name, "."+k+".sql"); ok {
			return s, k
		}
	}
	return strings.TrimSuffix(name, ".sql"), ""
}

// sqlxDescription reproduces sqlx: split at the first '_', strip the type's
// suffix (repeatedly: Rust's trim_end_matches), replace '_' with ' '.
func sqlxDescription(name string) string {
	_, tail, _ := strings.Cut(name, "_")
	suffix := ".sql"
	if strings.HasSuffix(tail, ".up.sql") {
		suffix = ".up.sql"
	} else if strings.HasSuffix(tail, ".down.sql") {
		suffix = ".down.sql"
	}
	for strings.HasSuffix(tail, suffix) {
		tail = strings.TrimSuffix(tail, suffix)
	}
	return strings.ReplaceAll(tail, "_", " ")
}

// Example is a file name the layout takes, for messages.
func Example(layout Layout) string {
	if layout == SQLx {
		return "20250101120000_create_tasks.sql"
	}
	return "0001_create_tasks.up.sql"
}

// File is the absolute path of a file in the directory.
func (d *Dir) File(name string) string { return filepath.Join(d.Path, name) }

// Read returns a file's bytes.
func (d *Dir) Read(name string) ([]byte, error) { return os.ReadFile(d.File(name)) }

// Find returns the migration with version v.
func (d *Dir) Find(v int64) (Migration, bool) {
	for _, m := range d.Migrations {
		if m.Version == v {
			return m, true
		}
	}
	return Migration{}, false
}

// Previous is the version before v in the directory (-1 if v is the first).
func (d *Dir) Previous(v int64) int64 {
	prev := int64(-1)
	for _, m := range d.Migrations {
		if m.Version >= v {
			break
		}
		prev = m.Version
	}
	return prev
}

// Latest is the highest version (-1 for an empty directory).
func (d *Dir) Latest() int64 {
	if len(d.Migrations) == 0 {
		return -1
	}
	return d.Migrations[len(d.Migrations)-1].Version
}

// Hash identifies the schema the directory builds: the layout, and the
// names and contents of the up files (down files do not change it). Hex
// SHA-256.
func (d *Dir) Hash() (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "layout %s\n", d.Layout)
	for _, m := range d.Migrations {
		b, err := d.Read(m.Up)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", m.Up, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Status is the directory compared with a database.
type Status struct {
	Layout  Layout
	Table   string  // the history table, schema-qualified
	Version int64   // highest applied version, -1 when none
	Dirty   bool    // a failed migration left the version marked dirty (migrate layout) or a failed row (sqlx)
	Failed  []int64 // sqlx rows marked success = false
	Applied []Migration
	Pending []Migration
	Drift   []Migration // applied, but the file changed since (sqlx layout: checksum differs)
	Missing []Recorded  // applied versions with no file
	// Warnings are about the history table: copies of it, or other tools
	// that would not find it (see migrator.History).
	Warnings []string
}

// Recorded is an applied version as the database records it.
type Recorded struct {
	Version     int64
	Description string // sqlx's; "" in the migrate layout, which keeps none
}

var nameRe = regexp.MustCompile(`[^a-z0-9]+`)

// MaxNameLength bounds a new migration's name (file names stop at 255 bytes).
const MaxNameLength = 100

// CheckName accepts a new migration's name: at most MaxNameLength
// characters, letters, digits, '_', '-' and spaces (the last two become '_').
func CheckName(name string) error {
	if n := utf8.RuneCountInString(name); n > MaxNameLength {
		return fail.New(fail.Config, "the migration name is %d characters long; use at most %d, e.g. `mage db:new add_index_on_tasks`", n, MaxNameLength)
	}
	for _, r := range name {
		if !(r < utf8.RuneSelf && (r == '_' || r == '-' || r == ' ' || (r >= '0' && r <= '9') || (r|0x20 >= 'a' && r|0x20 <= 'z'))) {
			return fail.New(fail.Config, "the migration name %q contains %q (a migration name takes letters, digits, '_', '-' and spaces); e.g. `mage db:new add_index_on_tasks`", name, string(r))
		}
	}
	return nil
}

// New writes the next migration for name (lower-cased, other characters
// turned into '_') and returns the paths it created. Numbering follows the
// directory: sequential (%04d) unless the newest version looks like a
// timestamp (>= 10 digits), then now as YYYYMMDDhhmmss. The migrate layout
// and reversible sqlx directories get an up/down pair; sqlx directories with
// simple files get one <version>_<name>.sql.
func New(dir string, layout Layout, name string, now time.Time) ([]string, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	slug := strings.Trim(nameRe.ReplaceAllString(strings.ToLower(name), "_"), "_")
	if slug == "" {
		return nil, fail.New(fail.Config, "migration name %q has no letters or digits; use e.g. `mage db:new add_index_on_tasks`", name)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	d, err := Load(dir, layout)
	if err != nil {
		return nil, err
	}
	latest := d.Latest()
	var version string
	switch {
	case latest >= 1_000_000_000:
		v := now.UTC().Format("20060102150405")
		if n, _ := strconv.ParseInt(v, 10, 64); n <= latest {
			v = strconv.FormatInt(latest+1, 10)
		}
		version = v
	case latest < 0 && layout == SQLx:
		version = now.UTC().Format("20060102150405") // sqlx-cli's default
	default:
		version = fmt.Sprintf("%04d", max(latest, 0)+1)
	}
	stem := version + "_" + slug
	simple := false
	if layout == SQLx {
		for _, m := range d.Migrations {
			if m.Down == "" && !strings.HasSuffix(m.Up, ".up.sql") {
				simple = true
			}
		}
	}
	files := map[string]string{}
	if simple {
		files[stem+".sql"] = fmt.Sprintf("-- %s: %s\n-- sqlx runs this file in one transaction. Once applied, never edit it\n-- (sqlx checks its SHA-384 checksum); add a new migration instead.\n\n", version, slug)
	} else {
		files[stem+".up.sql"] = fmt.Sprintf("-- %s (up): %s\n-- Runs as one transaction on PostgreSQL: if it fails nothing is applied.\n-- Undo it in %s.down.sql. Once applied, add a new migration instead of editing.\n\n", version, slug, stem)
		files[stem+".down.sql"] = fmt.Sprintf("-- %s (down): undo %s.up.sql.\n-- `mage db:rollback` refuses to run when this file is missing.\n\n", version, stem)
	}
	var created []string
	for name, body := range files {
		p := filepath.Join(d.Path, name)
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return created, err
		}
		_, err = f.WriteString(body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return created, err
		}
		created = append(created, p)
	}
	sort.Strings(created)
	return created, nil
}

// NoTransactionMarker starts a file that must run outside a transaction
// block (sqlx's marker; the migrate layout honours it too).
const NoTransactionMarker = "-- no-transaction"

// NoTransaction reports whether a migration file starts with the marker.
func NoTransaction(body []byte) bool { return strings.HasPrefix(string(body), NoTransactionMarker) }
