// Package sqlscan reads PostgreSQL SQL the way the server's lexer splits it
// into statements, to find, before anything runs, the statements a
// migration file cannot contain. Comments (-- and nested /* */), strings
// ('…', E'…' with backslash escapes), quoted identifiers ("…"), dollar
// quotes ($$…$$, $tag$…$tag$), parentheses (CREATE RULE … DO (…; …)) and
// BEGIN ATOMIC … END bodies of SQL functions are stepped over, so a ';' or
// a COMMIT inside them ends nothing.
package sqlscan

import (
	"strings"
)

// Statement is one statement's words (keywords and unquoted identifiers
// upper-cased, quoted identifiers as written, quotes included; strings and
// numbers left out), in order, and the line its first word is on.
type Statement struct {
	Line  int
	Words []string
}

// has reports whether the statement's words start with prefix.
func (s Statement) has(prefix ...string) bool {
	if len(s.Words) < len(prefix) {
		return false
	}
	for i, w := range prefix {
		if s.Words[i] != w {
			return false
		}
	}
	return true
}

// contains reports whether seq appears in the statement's words.
func (s Statement) contains(seq ...string) bool {
	for i := range s.Words {
		if (Statement{Words: s.Words[i:]}).has(seq...) {
			return true
		}
	}
	return false
}

// Split returns the statements of sql that have at least one word.
func Split(sql string) []Statement {
	var out []Statement
	sc := scanner{src: sql, line: 1}
	cur := Statement{}
	depth, parens := 0, 0 // BEGIN ATOMIC/CASE … END nesting, parentheses
	flush := func() {
		if len(cur.Words) > 0 {
			out = append(out, cur)
		}
		cur, depth, parens = Statement{}, 0, 0
	}
	for {
		tok, line, ok := sc.next()
		if !ok {
			break
		}
		switch tok {
		case ";":
			if depth == 0 && parens == 0 {
				flush()
			}
			continue
		case "(":
			parens++
			continue
		case ")":
			parens = max(parens-1, 0)
			continue
		}
		if len(cur.Words) == 0 {
			cur.Line = line
		}
		cur.Words = append(cur.Words, tok)
		// an SQL-standard function body: BEGIN ATOMIC stmt; stmt; END
		if routine(cur) && len(cur.Words) > 1 {
			switch tok {
			case "BEGIN", "CASE":
				depth++
			case "END":
				depth = max(depth-1, 0)
			}
		}
	}
	flush()
	return out
}

// routine reports whether s creates a function or procedure.
func routine(s Statement) bool {
	return s.has("CREATE", "FUNCTION") || s.has("CREATE", "PROCEDURE") ||
		s.has("CREATE", "OR", "REPLACE", "FUNCTION") || s.has("CREATE", "OR", "REPLACE", "PROCEDURE")
}

// scanner yields words (upper-cased unless quoted) and the punctuation ';', '(' and ')',
// skipping everything else.
type scanner struct {
	src  string
	pos  int
	line int
}

func (s *scanner) peek(off int) byte {
	if s.pos+off < len(s.src) {
		return s.src[s.pos+off]
	}
	return 0
}

// advance moves n bytes on, counting lines.
func (s *scanner) advance(n int) {
	end := min(s.pos+n, len(s.src))
	s.line += strings.Count(s.src[s.pos:end], "\n")
	s.pos = end
}

// skipTo moves just past the first occurrence of end (or to the end of
// the text).
func (s *scanner) skipTo(end string) {
	if i := strings.Index(s.src[s.pos:], end); i >= 0 {
		s.advance(i + len(end))
	} else {
		s.advance(len(s.src))
	}
}

func (s *scanner) next() (tok string, line int, ok bool) {
	for s.pos < len(s.src) {
		c := s.src[s.pos]
		switch {
		case c == '-' && s.peek(1) == '-':
			s.skipTo("\n")
		case c == '/' && s.peek(1) == '*':
			s.blockComment()
		case c == '\'':
			s.quoted('\'', false)
		case c == '"': // a quoted identifier: a word, as written
			line = s.line
			start := s.pos
			s.quoted('"', false)
			return s.src[start:s.pos], line, true
		case c == '$' && s.dollarQuote():
		case c == ';' || c == '(' || c == ')':
			line = s.line
			s.advance(1)
			return string(c), line, true
		case wordStart(c):
			line = s.line
			start := s.pos
			for s.pos < len(s.src) && wordPart(s.src[s.pos]) {
				s.pos++
			}
			word := strings.ToUpper(s.src[start:s.pos])
			if (word == "E") && s.peek(0) == '\'' { // E'…': backslash escapes
				s.quoted('\'', true)
				continue
			}
			return word, line, true
		default:
			s.advance(1)
		}
	}
	return "", s.line, false
}

// blockComment skips a /* */ comment; they nest in PostgreSQL.
func (s *scanner) blockComment() {
	depth := 0
	for s.pos < len(s.src) {
		switch {
		case s.src[s.pos] == '/' && s.peek(1) == '*':
			depth++
			s.advance(2)
		case s.src[s.pos] == '*' && s.peek(1) == '/':
			depth--
			s.advance(2)
			if depth == 0 {
				return
			}
		default:
			s.advance(1)
		}
	}
}

// quoted skips a string or quoted identifier opened by q at pos; a doubled
// q is the quote itself, and with backslashes set \ escapes the next byte.
func (s *scanner) quoted(q byte, backslashes bool) {
	s.advance(1)
	for s.pos < len(s.src) {
		c := s.src[s.pos]
		switch {
		case backslashes && c == '\\':
			s.advance(2)
		case c == q && s.peek(1) == q:
			s.advance(2)
		case c == q:
			s.advance(1)
			return
		default:
			s.advance(1)
		}
	}
}

// dollarQuote skips $tag$…$tag$ starting at pos, if one starts there ($1
// is a parameter, not a quote).
func (s *scanner) dollarQuote() bool {
	end := s.pos + 1
	for end < len(s.src) && s.src[end] != '$' {
		if !wordPart(s.src[end]) || s.src[end] == '$' || (end == s.pos+1 && !wordStart(s.src[end])) {
			return false
		}
		end++
	}
	if end >= len(s.src) {
		return false
	}
	tag := s.src[s.pos : end+1]
	s.advance(len(tag))
	s.skipTo(tag)
	return true
}

func wordStart(c byte) bool {
	return c == '_' || c >= 0x80 || (c|0x20 >= 'a' && c|0x20 <= 'z')
}

// wordPart: identifiers go on with letters, digits, '_' and '$' (a$b is
// one identifier, not a dollar quote).
func wordPart(c byte) bool { return wordStart(c) || (c >= '0' && c <= '9') || c == '$' }
