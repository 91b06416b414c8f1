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
		i = next
	}
	vals, err := godotenv.Unmarshal(src)
	if err != nil { // unreachable once every statement parsed on its own
		return nil, nil, fail.Wrap(fail.Config, err, "%s", path)
	}
	return vals, keys, nil
}

// statement checks the statement that starts at lines[start], which may
// continue over further lines inside a quoted value. It returns the key and
// the index of the line after the statement, or msg saying what is wrong.
func statement(lines []string, start int) (key, msg string, next int) {
	key, msg = statementKey(lines[start])
	if msg != "" {
		return "", msg, 0
	}
	for end := start + 1; end <= len(lines); end++ {
		vals, err := godotenv.Unmarshal(strings.Join(lines[start:end], "\n"))
		switch {
		case err == nil && len(vals) == 1:
			return key, "", end
		case err == nil:
			return "", fmt.Sprintf("unexpected text after the value of %s; quote the whole value, e.g. %s=\"...\"", key, key), 0
		case !strings.HasPrefix(err.Error(), "unterminated quoted value"):
			return "", fmt.Sprintf("%s; write it as KEY=VALUE", truncate(err.Error())), 0
		}
	}
	return "", fmt.Sprintf("the quoted value of %s is never closed; add the closing quote", key), 0
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
