// Package env is the build system's layered environment. Precedence, highest
// first: values a target computed (Set) > the process environment >
// <root>/.env.local > <root>/.env > built-in defaults. Children get the
// merged result explicitly (Environ); every value that is printed goes
// through Redact or a Redactor.
package env

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"
)

// Sources of a value, in rising precedence: default, .env, .env.local,
// process, target.
const (
	SourceProcess = "process"
	SourceLocal   = ".env.local"
	SourceFile    = ".env"
	SourceDefault = "default"
	SourceTarget  = "target" // computed by a target with Set
	SourceUnset   = "unset"  // Documented: no layer sets the variable
)

// Var is a variable with its effective value and where that came from.
type Var struct{ Key, Value, Source string }

// Env is the merged environment. The zero value is not usable; use Load.
type Env struct {
	vars     map[string]Var
	fileKeys []string // keys set in .env or .env.local, in first-seen order
}

// Load merges the built-in defaults, <root>/.env, <root>/.env.local and the
// process environment (os.Environ()). Missing files are fine; a malformed
// one returns a fail.Config error starting with "<path>:<line>: ".
func Load(root string, process []string) (*Env, error) {
	e := &Env{vars: map[string]Var{}}
	for _, d := range Known {
		if d.Builtin {
			e.put(d.Key, d.Default, SourceDefault)
		}
	}
	for _, f := range []string{SourceFile, SourceLocal} {
		vals, keys, err := readFile(filepath.Join(root, f))
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			e.put(k, vals[k], f)
			if !slices.Contains(e.fileKeys, k) {
				e.fileKeys = append(e.fileKeys, k)
			}
		}
	}
	for _, kv := range process {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			e.put(k, v, SourceProcess)
		}
	}
	// NO_COLOR (no-color.org) turns colour off where the build chose it:
	// cargo is told "always" by default so that colour survives the pipes.
	if v, ok := e.Lookup("CARGO_TERM_COLOR"); e.Get("NO_COLOR") != "" && ok && v.Source == SourceDefault {
		e.put("CARGO_TERM_COLOR", "never", SourceDefault)
	}
	return e, nil
}

func (e *Env) put(key, value, source string) {
	e.vars[key] = Var{Key: key, Value: value, Source: source}
}

// Get returns the effective value of key ("" when unset).
func (e *Env) Get(key string) string { return e.vars[key].Value }

// Lookup returns key's effective value and source, and whether it is set.
func (e *Env) Lookup(key string) (Var, bool) {
	v, ok := e.vars[key]
	return v, ok
}

// Set records a value a target computed (e.g. a per-test DATABASE_URL); it
// overrides every other layer.
func (e *Env) Set(key, value string) { e.put(key, value, SourceTarget) }

// Clone returns an independent copy, for a target that Sets values only its
// own children should see.
func (e *Env) Clone() *Env {
	return &Env{vars: maps.Clone(e.vars), fileKeys: slices.Clone(e.fileKeys)}
}

// Environ returns the complete KEY=VALUE environment for child processes,
// sorted by key.
func (e *Env) Environ() []string {
	out := make([]string, 0, len(e.vars))
	for _, k := range slices.Sorted(maps.Keys(e.vars)) {
		out = append(out, k+"="+e.vars[k].Value)
	}
	return out
}

// Documented returns every Known variable, in Known order, with its
// effective value and source (SourceUnset when no layer sets it).
func (e *Env) Documented() []Var {
	out := make([]Var, 0, len(Known))
	for _, d := range Known {
		v, ok := e.vars[d.Key]
		if !ok {
			v = Var{Key: d.Key, Source: SourceUnset}
		}
		out = append(out, v)
	}
	return out
}

// Bool reports whether key is set to 1, true, yes or on (any case).
func Bool(e *Env, key string) bool {
	switch strings.ToLower(strings.TrimSpace(e.Get(key))) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}
