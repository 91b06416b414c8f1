package env

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// commentedVar matches "# KEY=value": a variable unset by default.
var commentedVar = regexp.MustCompile(`^#\s*([A-Za-z_][A-Za-z0-9_]*=.*)$`)

// TestEnvExampleListsKnown keeps .env.example and Known in step: the same
// keys, each with its documented default (secrets with a placeholder).
func TestEnvExampleListsKnown(t *testing.T) {
	path := filepath.Join(moduleRoot(t), ".env.example")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var active []string
	for _, line := range strings.Split(string(src), "\n") {
		if m := commentedVar.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			line = m[1]
		}
		active = append(active, line)
	}
	vals, keys, err := parse(path, strings.Join(active, "\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range Known {
		switch v, ok := vals[d.Key]; {
		case !ok:
			t.Errorf("%s is in Known but not in .env.example", d.Key)
		case d.Secret && (v == "" || v == d.Default):
			t.Errorf("%s: show a placeholder, not %q", d.Key, v)
		case !d.Secret && v != d.Default:
			t.Errorf("%s=%q in .env.example, but its default is %q", d.Key, v, d.Default)
		}
	}
	for _, k := range keys {
		if _, ok := doc(k); !ok {
			t.Errorf("%s is in .env.example but not in Known", k)
		}
	}
	if dup := len(keys) - len(vals); dup != 0 {
		t.Errorf("%d duplicate keys in .env.example", dup)
	}
}

// moduleRoot walks up from the test's directory to the one holding go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}
