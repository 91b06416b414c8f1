package sqlscan

import "fmt"

// Problem is a statement a migration file cannot contain as written.
type Problem struct {
	Line int
	What string // the statement's kind, e.g. "COMMIT", "CREATE INDEX CONCURRENTLY"
	Fix  string // what to do, one sentence
}

func (p Problem) String() string { return fmt.Sprintf("line %d: %s", p.Line, p.Fix) }

// Check finds what cannot run in a migration file: statements that end or
// start a transaction (the file runs in one, with its version row), and
// statements PostgreSQL refuses inside a transaction block, unless the file
// runs outside one (noTx: "-- no-transaction") as its only statement.
func Check(sql string, noTx bool) []Problem {
	stmts := Split(sql)
	var out []Problem
	for _, s := range stmts {
		if what := txControl(s); what != "" {
			out = append(out, Problem{s.Line, what, fmt.Sprintf("%s ends or starts a transaction, but the file runs in one, together with its version row: remove it", what)})
			continue
		}
		what := outsideOnly(s)
		switch {
		case what == "":
		case !noTx:
			out = append(out, Problem{s.Line, what, fmt.Sprintf("%s cannot run inside a transaction block, and the file runs in one: move it into a migration of its own whose first line is `-- no-transaction`", what)})
		case len(stmts) > 1:
			out = append(out, Problem{s.Line, what, fmt.Sprintf("%s must be the only statement of its -- no-transaction file (PostgreSQL runs the statements of one file as a transaction block): move the other %d statement(s) into another migration", what, len(stmts)-1)})
		}
	}
	return out
}

// txControl names a statement that ends or starts a transaction ("" if s
// is none). ROLLBACK TO SAVEPOINT stays inside it.
func txControl(s Statement) string {
	switch w := s.Words; {
	case s.has("START", "TRANSACTION"):
		return "START TRANSACTION"
	case s.has("PREPARE", "TRANSACTION"), s.has("COMMIT", "PREPARED"), s.has("ROLLBACK", "PREPARED"):
		return w[0] + " " + w[1]
	case s.has("ROLLBACK", "TO"):
		return ""
	case w[0] == "BEGIN", w[0] == "COMMIT", w[0] == "END", w[0] == "ROLLBACK", w[0] == "ABORT":
		return w[0]
	}
	return ""
}

// outsideOnly names a statement PostgreSQL refuses inside a transaction
// block ("" if s is none).
func outsideOnly(s Statement) string {
	switch {
	case s.has("CREATE", "INDEX", "CONCURRENTLY"), s.has("CREATE", "UNIQUE", "INDEX", "CONCURRENTLY"):
		return "CREATE INDEX CONCURRENTLY"
	case s.has("DROP", "INDEX", "CONCURRENTLY"):
		return "DROP INDEX CONCURRENTLY"
	case s.has("REINDEX") && s.contains("CONCURRENTLY"):
		return "REINDEX CONCURRENTLY"
	case s.has("REINDEX") && (s.contains("DATABASE") || s.contains("SYSTEM")):
		return "REINDEX DATABASE/SYSTEM"
	case s.has("ALTER", "TABLE") && s.contains("DETACH", "PARTITION") && s.contains("CONCURRENTLY"):
		return "DETACH PARTITION CONCURRENTLY"
	case s.has("ALTER", "DATABASE") && s.contains("SET", "TABLESPACE"):
		return "ALTER DATABASE SET TABLESPACE"
	case s.has("VACUUM"), s.has("DISCARD", "ALL"):
		return s.Words[0]
	case s.has("CLUSTER") && (len(s.Words) == 1 || (len(s.Words) == 2 && s.Words[1] == "VERBOSE")):
		return "CLUSTER (every table)"
	}
	for _, kind := range [][]string{
		{"CREATE", "DATABASE"}, {"DROP", "DATABASE"}, {"CREATE", "TABLESPACE"}, {"DROP", "TABLESPACE"},
		{"ALTER", "SYSTEM"}, {"CREATE", "SUBSCRIPTION"}, {"DROP", "SUBSCRIPTION"},
	} {
		if s.has(kind...) {
			return kind[0] + " " + kind[1]
		}
	}
	return ""
}
