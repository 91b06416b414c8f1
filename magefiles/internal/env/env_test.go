package env

import (
	"reflect"
	"slices"
	"testing"
)

func TestPrecedence(t *testing.T) {
	cases := []struct {
		name             string
		file, local, env string // value of RUST_LOG in each layer; "" = not set there
		want, source     string
	}{
		{"default", "", "", "", "warn", SourceDefault},
		{".env over default", "info", "", "", "info", SourceFile},
		{".env.local over .env", "info", "debug", "", "debug", SourceLocal},
		{"process over .env.local", "info", "debug", "trace", "trace", SourceProcess},
		{"process over .env", "info", "", "trace", "trace", SourceProcess},
		{"process over default", "", "", "trace", "trace", SourceProcess},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			if c.file != "" {
				write(t, root, ".env", "RUST_LOG="+c.file+"\n")
			}
			if c.local != "" {
				write(t, root, ".env.local", "RUST_LOG="+c.local+"\n")
			}
			var process []string
			if c.env != "" {
				process = []string{"RUST_LOG=" + c.env}
			}
			e, err := Load(root, process)
			if err != nil {
				t.Fatal(err)
			}
			want := Var{Key: "RUST_LOG", Value: c.want, Source: c.source}
			if v, ok := e.Lookup("RUST_LOG"); !ok || v != want {
				t.Errorf("got %+v, want %+v", v, want)
			}
		})
	}
}

func TestProcessEmptyValueStillWins(t *testing.T) {
	e := load(t, "", "RUST_LOG=")
	if v, _ := e.Lookup("RUST_LOG"); v.Value != "" || v.Source != SourceProcess {
		t.Errorf("got %+v", v)
	}
}

func TestSetOverridesAndCloneIsolates(t *testing.T) {
	e := load(t, "", "DATABASE_URL=postgresql://a@h/x")
	c := e.Clone()
	c.Set("DATABASE_URL", "postgresql://a@h/test_1")
	if v, _ := c.Lookup("DATABASE_URL"); v.Source != SourceTarget || v.Value != "postgresql://a@h/test_1" {
		t.Errorf("clone: %+v", v)
	}
	if got := e.Get("DATABASE_URL"); got != "postgresql://a@h/x" {
		t.Errorf("original changed: %q", got)
	}
}

func TestEnviron(t *testing.T) {
	e := load(t, "FROM_FILE=1\n", "ZED=z", "PATH=/bin", "ignored-no-equals", "=C:=weird")
	got := e.Environ()
	if !slices.IsSorted(got) {
		t.Errorf("not sorted: %q", got)
	}
	for _, kv := range []string{"ZED=z", "PATH=/bin", "FROM_FILE=1", "TASKER_ENV=test", "CARGO_TERM_COLOR=always"} {
		if !slices.Contains(got, kv) {
			t.Errorf("missing %s in %q", kv, got)
		}
	}
	if !reflect.DeepEqual(got, e.Clone().Environ()) {
		t.Error("not deterministic")
	}
	if slices.Contains(got, "ORCHESTRATION_PORT=8080") {
		t.Error("documentation-only default leaked into the environment")
	}
}

func TestDocumented(t *testing.T) {
	e := load(t, "", "CI=true")
	got := e.Documented()
	if len(got) != len(Known) {
		t.Fatalf("%d vars, want %d", len(got), len(Known))
	}
	want := map[string]Var{
		"CI":                 {"CI", "true", SourceProcess},
		"TASKER_ENV":         {"TASKER_ENV", "test", SourceDefault},
		"ORCHESTRATION_PORT": {"ORCHESTRATION_PORT", "", SourceUnset},
	}
	for i, v := range got {
		if v.Key != Known[i].Key {
			t.Errorf("%d: %s, want %s", i, v.Key, Known[i].Key)
		}
		if w, ok := want[v.Key]; ok && v != w {
			t.Errorf("got %+v, want %+v", v, w)
		}
	}
}

func TestBool(t *testing.T) {
	for val, want := range map[string]bool{
		"1": true, "true": true, "TRUE": true, "yes": true, " on ": true,
		"0": false, "false": false, "no": false, "": false, "2": false,
	} {
		e := load(t, "", "MAGE_DRY_RUN="+val)
		if got := Bool(e, "MAGE_DRY_RUN"); got != want {
			t.Errorf("Bool(%q) = %v, want %v", val, got, want)
		}
	}
	if Bool(load(t, ""), "NOT_SET_ANYWHERE") {
		t.Error("unset is true")
	}
}

func TestKnownIsWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range Known {
		if !keyPattern.MatchString(d.Key) || d.Description == "" || seen[d.Key] {
			t.Errorf("bad or duplicate entry %+v", d)
		}
		seen[d.Key] = true
	}
}

// load returns the Env of a temporary root with the given .env content.
func load(t *testing.T, dotenv string, process ...string) *Env {
	t.Helper()
	root := t.TempDir()
	if dotenv != "" {
		write(t, root, ".env", dotenv)
	}
	e, err := Load(root, process)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// NO_COLOR turns off the colour the build chose for cargo, not colour a
// user asked for explicitly.
func TestNoColorTurnsOffDefaultColour(t *testing.T) {
	e, err := Load(t.TempDir(), []string{"NO_COLOR=1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Get("CARGO_TERM_COLOR"); got != "never" {
		t.Errorf("CARGO_TERM_COLOR=%q with NO_COLOR set, want never", got)
	}
	e, _ = Load(t.TempDir(), []string{"NO_COLOR=1", "CARGO_TERM_COLOR=always"})
	if got := e.Get("CARGO_TERM_COLOR"); got != "always" {
		t.Errorf("an explicit CARGO_TERM_COLOR was overridden: %q", got)
	}
	e, _ = Load(t.TempDir(), nil)
	if got := e.Get("CARGO_TERM_COLOR"); got != "always" {
		t.Errorf("default CARGO_TERM_COLOR=%q, want always", got)
	}
}
