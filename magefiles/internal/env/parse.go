package env

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/joho/godotenv"

	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
)

// keyPattern is what a variable name may look like.
var keyPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// readFile parses the dotenv file at path. A missing file yields no
// variables; a malformed one a fail.Config error naming path:line.
func readFile(path string) (map[string]string, []string, error) {
	src, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fail.Wrap(fail.Config, err, "%s: cannot read", path)
	}
	return parse(path, string(src))
}

// parse validates src statement by statement, so an error can name its line
// (godotenv does not), then lets godotenv compute the values: quotes,
// escapes, `export ` prefixes, comments and ${VAR} references to earlier
// variables of the same file. It returns the values and the keys in file
// order.
func parse(path, src string) (map[string]string, []string, error) {
	lines := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	var keys []string
	line := map[string]int{}
	for i := 0; i < len(lines); {
		text := strings.TrimSpace(lines[i])
		if text == "" || strings.HasPrefix(text, "#") {
			i++
			continue
		}
		key, msg, next := statement(lines, i)
		if msg != "" {
			return nil, nil, fail.New(fail.Config, "%s:%d: %s", path, i+1, msg)
		}
		keys = append(keys, key)
		line[key] = i + 1
		i = next
	}
	vals, err := godotenv.Unmarshal(src)
	if err != nil { // unreachable once every statement parsed on its own
		return nil, nil, fail.Wrap(fail.Config, err, "%s", path)
	}
	for _, k := range keys {
		if msg := tooLong(k, vals[k]); msg != "" {
			return nil, nil, fail.New(fail.Config, "%s:%d: %s", path, line[k], msg)
		}
	}
	return vals, keys, nil
}

// MaxValue is the longest KEY=VALUE string a child process can receive:
// Linux refuses to exec with any single environment string over 32 pages
// (MAX_ARG_STRLEN), and every child would fail with "argument list too long".
const MaxValue = 32 * 4096

// tooLong says why key=value cannot be passed to a child ("" when it can).
func tooLong(key, value string) string {
	if n := len(key) + 1 + len(value); n > MaxValue {
		return fmt.Sprintf("%s is %d bytes, over the %d a child process can receive (the OS refuses to start it); keep the data in a file and put its path in %s", key, n, MaxValue, key)
	}
	return ""
}

// statement checks the statement that starts at lines[start], which may
// continue over further lines inside a quoted value. It returns the key and
// the index of the line after the statement, or msg saying what is wrong.
// The end of a quoted value is found by scanning for its closing quote
// once, so an unclosed quote costs one pass over the file, not one parse
// per following line.
func statement(lines []string, start int) (key, msg string, next int) {
	key, msg = statementKey(lines[start])
	if msg != "" {
		return "", msg, 0
	}
	end, closed := valueEnd(lines, start)
	if !closed {
		return "", fmt.Sprintf("the quoted value of %s is never closed; add the closing quote", key), 0
	}
	vals, err := godotenv.Unmarshal(strings.Join(lines[start:end], "\n"))
	switch {
	case err == nil && len(vals) == 1:
		return key, "", end
	case err == nil:
		return "", fmt.Sprintf("unexpected text after the value of %s; quote the whole value, e.g. %s=\"...\"", key, key), 0
	case strings.HasPrefix(err.Error(), "unterminated quoted value"):
		return "", fmt.Sprintf("the quoted value of %s is never closed; add the closing quote", key), 0
	}
	return "", fmt.Sprintf("%s; write it as KEY=VALUE", truncate(err.Error())), 0
}

// valueEnd is the index of the line after the value that starts on
// lines[start]: the next line for an unquoted value, the line after the
// closing quote for a quoted one (a backslash escapes the next character
// inside double quotes). closed is false when the quote never closes.
func valueEnd(lines []string, start int) (end int, closed bool) {
	_, value, _ := strings.Cut(lines[start], "=")
	value = strings.TrimLeft(value, " \t")
	if value == "" || (value[0] != '"' && value[0] != '\'') {
		return start + 1, true
	}
	quote, text, escaped := value[0], value[1:], false
	for i := start; i < len(lines); i++ {
		if i > start {
			text = lines[i]
		}
		for j := 0; j < len(text); j++ {
			switch c := text[j]; {
			case escaped:
				escaped = false
			case c == '\\' && quote == '"':
				escaped = true
			case c == quote:
				return i + 1, true
			}
		}
		escaped = false // a backslash at the end of a line escapes the newline
	}
	return 0, false
}

// statementKey extracts and validates the key of a KEY=VALUE line.
func statementKey(line string) (key, msg string) {
	text := strings.TrimSpace(line)
	if rest, ok := strings.CutPrefix(text, "export"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
		text = strings.TrimSpace(rest)
	}
	name, _, found := strings.Cut(text, "=")
	name = strings.TrimSpace(name)
	switch {
	case !found:
		return "", fmt.Sprintf("expected KEY=VALUE, got %q; add '=' or comment the line out with '#'", firstWord(text))
	case !keyPattern.MatchString(name):
		return "", fmt.Sprintf("invalid variable name %q; use letters, digits and '_' (not starting with a digit)", truncate(name))
	}
	return name, ""
}

// truncate redacts and shortens s for an error message.
func truncate(s string) string {
	const max = 40
	s = Redact(s)
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}

// firstWord is the start of a line that has no '=', without what could be a
// secret value after it.
func firstWord(s string) string {
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		return truncate(s[:i]) + " ..."
	}
	return truncate(s)
}
