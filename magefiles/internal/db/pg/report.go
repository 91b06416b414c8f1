package pg

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
)

// Failure explains a migration file that failed: the file, the server's
// message, a few lines around the failing statement (never the whole file),
// the state it left behind and the exact commands that recover.
type Failure struct {
	File  string // as shown to the user, e.g. db/migrations/0003_x.up.sql
	SQL   []byte // the file's contents
	Err   error  // the driver's error; a *pgconn.PgError somewhere in its chain
	State string // what the failure left behind
	Fix   string // the recovery commands
}

func (f *Failure) Error() string {
	var b strings.Builder
	msg, line := Describe(f.Err, f.SQL)
	fmt.Fprintf(&b, "migration %s failed: %s", f.File, msg)
	if line > 0 {
		fmt.Fprintf(&b, " (line %d)", line)
	}
	if ex := Excerpt(f.SQL, line, 2); ex != "" {
		b.WriteString("\n" + ex)
	}
	if f.State != "" {
		b.WriteString("\n  state: " + f.State)
	}
	if f.Fix != "" {
		b.WriteString("\n  fix:   " + f.Fix)
	}
	return b.String()
}

func (f *Failure) Unwrap() error   { return f.Err }
func (f *Failure) ExitStatus() int { return fail.Failed }

var quotedRe = regexp.MustCompile(`"([^"]+)"`)

// Describe renders a database error as "ERROR: msg (SQLSTATE x) detail/hint"
// and finds the line of sql it points at (0 if unknown): the error position,
// else the statement PL/pgSQL was running (InternalQuery), else the first
// line naming an identifier quoted in the message.
func Describe(err error, sql []byte) (msg string, line int) {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err.Error(), 0
	}
	msg = pe.Error()
	if pe.Detail != "" {
		msg += "; " + pe.Detail
	}
	if pe.Hint != "" {
		msg += "; hint: " + pe.Hint
	}
	if pe.Where != "" {
		msg += "; where: " + strings.ReplaceAll(pe.Where, "\n", " / ")
	}
	text := string(sql)
	switch {
	case pe.Position > 0:
		line = lineOfRune(text, int(pe.Position))
	case pe.InternalQuery != "":
		if i := strings.Index(text, firstLine(pe.InternalQuery)); i >= 0 {
			line = strings.Count(text[:i], "\n") + 1
		}
	}
	if line == 0 {
		for _, m := range quotedRe.FindAllStringSubmatch(pe.Message, -1) {
			if line = lineNaming(text, m[1]); line > 0 {
				break
			}
		}
	}
	return msg, line
}

// lineNaming is the first line outside comments that names ident (or its
// last dotted part) as a whole word, case-insensitively; 0 if none.
func lineNaming(text, ident string) int {
	if j := strings.LastIndexByte(ident, '.'); j >= 0 {
		ident = ident[j+1:]
	}
	re, err := regexp.Compile(`(?i)(^|[^A-Za-z0-9_$])` + regexp.QuoteMeta(ident) + `($|[^A-Za-z0-9_$])`)
	if err != nil {
		return 0
	}
	for i, l := range strings.Split(text, "\n") {
		if code, _, _ := strings.Cut(l, "--"); re.MatchString(code) {
			return i + 1
		}
	}
	return 0
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// lineOfRune is the 1-based line of the pos-th character (PostgreSQL counts
// characters, not bytes).
func lineOfRune(s string, pos int) int {
	line, n := 1, 0
	for _, r := range s {
		n++
		if n >= pos {
			return line
		}
		if r == '\n' {
			line++
		}
	}
	return line
}

// Excerpt shows lines line-ctx..line+ctx of sql, numbered, the line itself
// marked with '>'. Empty when line is 0.
func Excerpt(sql []byte, line, ctx int) string {
	if line <= 0 {
		return ""
	}
	lines := strings.Split(string(sql), "\n")
	from, to := max(line-ctx, 1), min(line+ctx, len(lines))
	width := len(fmt.Sprint(to))
	var b strings.Builder
	for i := from; i <= to; i++ {
		mark := " "
		if i == line {
			mark = ">"
		}
		text := strings.TrimRight(lines[i-1], "\r")
		if len(text) > 160 {
			text = text[:160] + " …"
		}
		fmt.Fprintf(&b, "  %s %*d | %s\n", mark, width, i, text)
	}
	return strings.TrimRight(b.String(), "\n")
}
