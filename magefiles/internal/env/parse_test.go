package env

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
)

func TestParseValues(t *testing.T) {
	src := strings.Join([]string{
		"# comment",
		"",
		"PLAIN=value",
		"WITH_EQ=a=b=c",
		`DOUBLE="hello world # not a comment"`,
		`SINGLE='$NOT_EXPANDED'`,
		"export EXPORTED=yes",
		"  INDENTED = spaced  # trailing comment",
		"EMPTY=",
		`URL="postgresql://u:p%40ss@h:5432/db?sslmode=disable"`,
		`MULTI="line one`,
		`line two"`,
		"REF=${PLAIN}-x",
		"CRLF=ok\r",
		"LAST=eof",
	}, "\n")
	want := map[string]string{
		"PLAIN": "value", "WITH_EQ": "a=b=c", "DOUBLE": "hello world # not a comment",
		"SINGLE": "$NOT_EXPANDED", "EXPORTED": "yes", "INDENTED": "spaced", "EMPTY": "",
		"URL": "postgresql://u:p%40ss@h:5432/db?sslmode=disable", "MULTI": "line one\nline two",
		"REF": "value-x", "CRLF": "ok", "LAST": "eof",
	}
	vals, keys, err := parse(".env", src)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(vals, want) {
		t.Errorf("values:\n got %q\nwant %q", vals, want)
	}
	wantKeys := []string{"PLAIN", "WITH_EQ", "DOUBLE", "SINGLE", "EXPORTED", "INDENTED", "EMPTY", "URL", "MULTI", "REF", "CRLF", "LAST"}
	if !reflect.DeepEqual(keys, wantKeys) {
		t.Errorf("keys: got %q, want %q", keys, wantKeys)
	}
}

func TestParseErrorsNameTheLine(t *testing.T) {
	cases := []struct {
		name, src, line, says string
	}{
		{"no equals", "A=1\n# c\nTHIS IS WRONG\nB=2", ":3: ", "expected KEY=VALUE"},
		{"bad name", "A=1\n\n1BAD=x", ":3: ", `invalid variable name "1BAD"`},
		{"space in name", "MY VAR=1", ":1: ", `invalid variable name "MY VAR"`},
		{"unterminated", "A=1\nB=\"open\nC=3", ":2: ", "never closed"},
		{"text after quote", "A='x' junk", ":1: ", "unexpected text after the value of A"},
		{"yaml style", "A: 1", ":1: ", "expected KEY=VALUE"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := parse("/r/.env", c.src)
			if err == nil {
				t.Fatal("no error")
			}
			if fail.Code(err) != fail.Config {
				t.Errorf("code %d, want %d", fail.Code(err), fail.Config)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "/r/.env"+c.line) || !strings.Contains(msg, c.says) {
				t.Errorf("got %q, want prefix /r/.env%s and %q", msg, c.line, c.says)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("message spans lines: %q", msg)
			}
		})
	}
}

func TestParseErrorHidesSecrets(t *testing.T) {
	for _, src := range []string{"PGPASSWORD hunter22", "DATABASE_URL postgresql://u:hunter22@h/db"} {
		_, _, err := parse(".env", src)
		if err == nil || strings.Contains(err.Error(), "hunter22") {
			t.Errorf("%q: error %v shows the secret", src, err)
		}
	}
}

func TestLoadBadFile(t *testing.T) {
	root := t.TempDir()
	write(t, root, ".env", "A=1\nB=2\nnot valid\n")
	_, err := Load(root, nil)
	if want := filepath.Join(root, ".env") + ":3: "; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("got %v, want prefix %q", err, want)
	}
	if fail.Code(err) != fail.Config {
		t.Errorf("code %d, want %d", fail.Code(err), fail.Config)
	}
}

func TestLoadUnreadableFile(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, ".env.local"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(root, nil); fail.Code(err) != fail.Config {
		t.Fatalf("got %v (code %d), want a configuration error", err, fail.Code(err))
	}
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A value too long for a child process's environment is refused where it
// is written, naming it, rather than failing every child later with
// "argument list too long" and no name.
func TestTooLongValueIsNamed(t *testing.T) {
	src := "A=1\nBLOB=" + strings.Repeat("x", 1<<20) + "\n"
	_, _, err := parse(".env", src)
	if fail.Code(err) != fail.Config || !strings.Contains(err.Error(), ".env:2: BLOB is 1048581 bytes, over the 131072") {
		t.Fatalf("err = %v", err)
	}
	if _, _, err := parse(".env", "OK="+strings.Repeat("x", MaxValue-3)); err != nil {
		t.Errorf("a value at the limit: %v", err)
	}
}

// An unclosed quote at the top of a long file is reported with its line,
// and escaped quotes do not close a value.
func TestUnclosedQuoteInALongFile(t *testing.T) {
	src := "KEY=\"open\n" + strings.Repeat("OTHER=value\n", 16000)
	_, _, err := parse(".env", src)
	if fail.Code(err) != fail.Config || err.Error() != ".env:1: the quoted value of KEY is never closed; add the closing quote" {
		t.Fatalf("err = %v", err)
	}
	vals, _, err := parse(".env", "A=\"say \\\"hi\\\"\nstill A\"\nB='it''s'\n")
	if err == nil || !strings.Contains(err.Error(), ".env:3:") {
		t.Fatalf("B='it''s': %v %v", vals, err)
	}
	vals, _, err = parse(".env", "A=\"say \\\"hi\\\"\nstill A\"\nB=2\n")
	if err != nil || vals["A"] != "say \"hi\"\nstill A" || vals["B"] != "2" {
		t.Fatalf("escaped quotes: %q, %v", vals, err)
	}
}

// Parsing a 16,000-line file whose first value never closes (it took 5 to
// 12 s when every following line was parsed again).
// Run: go test -bench Unclosed -run '^$' ./magefiles/internal/env/
func BenchmarkUnclosedQuoteInALongFile(b *testing.B) {
	src := "KEY=\"open\n" + strings.Repeat("OTHER=value\n", 16000)
	for range b.N {
		if _, _, err := parse(".env", src); err == nil {
			b.Fatal("no error")
		}
	}
}
