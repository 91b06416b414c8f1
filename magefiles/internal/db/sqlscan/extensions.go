package sqlscan

import "strings"

// Extension is an extension a migration file creates.
type Extension struct {
	Name string // as PostgreSQL names it: unquoted names lower-cased
	Line int
}

// Extensions lists the extensions sql's CREATE EXTENSION [IF NOT EXISTS]
// statements create, in order. Statements inside function bodies and DO
// blocks are not counted: they run conditionally, if at all.
func Extensions(sql string) []Extension {
	var out []Extension
	for _, s := range Split(sql) {
		if !s.has("CREATE", "EXTENSION") {
			continue
		}
		w := s.Words[2:]
		if (Statement{Words: w}).has("IF", "NOT", "EXISTS") {
			w = w[3:]
		}
		if len(w) > 0 {
			out = append(out, Extension{Name: identifier(w[0]), Line: s.Line})
		}
	}
	return out
}

// identifier is the name a word stands for: a quoted identifier without
// its quotes, an unquoted one folded to lower case as PostgreSQL does.
func identifier(word string) string {
	if q, ok := strings.CutPrefix(word, `"`); ok {
		return strings.ReplaceAll(strings.TrimSuffix(q, `"`), `""`, `"`)
	}
	return strings.ToLower(word)
}
