package cache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/atomicfile"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/stamp"
	"github.com/tasker-systems/tasker-build/magefiles/internal/toolchain"
)

// Spec is what one action reads and writes. Everything it reads is in its
// key; a success is recorded with its outputs under that key.
type Spec struct {
	Name   string  // the step: "python:lint"
	Inputs []Input // the files it reads
	Cmds   []run.Cmd
	// Env names the variables it reads (a trailing * matches a prefix:
	// "CARGO_PROFILE_*"); their values are in the key.
	Env []string
	// Tools are the programs it runs (names of toolchain.Tools, or
	// executables), found on PATH; their versions are in the key.
	Tools []string
	PATH  string
	// Outputs are the files it writes, relative to the root, restored on a
	// hit. Each must exist after a success.
	Outputs []string
}

// Input is a file, or a directory's files, relative to the root; Keep
// (nil keeps all) filters a directory's files by base name.
type Input struct {
	Path string
	Keep func(name string) bool
}

// BuildSystem are the build system's own files: the commands an action
// runs come from them, so every key includes them (its tests aside).
var BuildSystem = []Input{{Path: "magefiles", Keep: func(name string) bool { return !strings.HasSuffix(name, "_test.go") }}, {Path: "go.mod"}, {Path: "go.sum"}}

// sources lists the repository's source files once per session: what git
// tracks plus untracked files it does not ignore, so build outputs,
// dependencies and local settings never enter a key. Outside a git
// checkout the tree is walked minus stamp.Skipped.
type sources struct {
	root  string
	once  sync.Once
	files []string // slash-separated, sorted
	err   error
}

func (s *sources) list() ([]string, error) {
	s.once.Do(func() {
		out, err := exec.Command("git", "-C", s.root, "ls-files", "-z", "--cached", "--others", "--exclude-standard").Output()
		if err == nil {
			for _, f := range strings.Split(string(out), "\x00") {
				if f != "" {
					s.files = append(s.files, f)
				}
			}
		} else {
			s.files, s.err = walk(s.root)
		}
		sort.Strings(s.files)
	})
	return s.files, s.err
}

func walk(root string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && path != root && (stamp.Skipped[d.Name()] || d.Name() == ".tasker"):
			return filepath.SkipDir
		case !d.IsDir():
			rel, _ := filepath.Rel(root, path)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	return files, err
}

// manifest lists everything the key covers, one "<kind> <subject> <value>"
// line each (values without spaces: long ones as digests), in a fixed
// order; the key is its sha256. It is kept per step
// so a miss can say what changed (see explain).
func (c *Cache) manifest(ctx context.Context, r *run.Runner, sp Spec) ([]string, error) {
	lines := []string{"format tasker-cache-1", "action " + sp.Name + " -"}
	for i, cmd := range sp.Cmds {
		lines = append(lines, fmt.Sprintf("cmd %d %s", i+1, digestString(c.portable(cmdLine(cmd)))[:16]))
	}
	environ := r.Env()
	for _, name := range sp.Env {
		for _, kv := range matching(environ, name) {
			k, v, _ := strings.Cut(kv, "=")
			lines = append(lines, "env "+k+" "+digestString(c.portable(v))[:16])
		}
	}
	for _, t := range sp.Tools {
		v, err := c.toolVersion(ctx, environ, sp.PATH, t)
		if err != nil {
			return nil, err
		}
		lines = append(lines, "tool "+t+" "+digestString(v)[:16])
	}
	files, err := c.src.list()
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, in := range append(append([]Input(nil), BuildSystem...), sp.Inputs...) {
		found := false
		for _, f := range under(files, in.Path) {
			if in.Keep != nil && !in.Keep(filepath.Base(f)) {
				continue
			}
			found = true
			if seen[f] {
				continue
			}
			seen[f] = true
			sum, err := fileDigest(filepath.Join(c.Root, f))
			if err != nil {
				return nil, err
			}
			lines = append(lines, "in "+f+" "+sum)
		}
		if !found {
			lines = append(lines, "in "+in.Path+" missing")
		}
	}
	for _, o := range sp.Outputs {
		lines = append(lines, "out "+o+" -")
	}
	return lines, nil
}

// key is the sha256 of the manifest.
func key(manifest []string) string { return digestString(strings.Join(manifest, "\n")) }

// under returns the sorted files at or below path.
func under(files []string, path string) []string {
	path = strings.TrimSuffix(filepath.ToSlash(path), "/")
	i := sort.SearchStrings(files, path)
	var out []string
	for ; i < len(files) && strings.HasPrefix(files[i], path); i++ {
		if f := files[i]; f == path || strings.HasPrefix(f, path+"/") {
			out = append(out, f)
		}
	}
	return out
}

// fileDigest is the sha256 of a file's content, with "+x" for an
// executable and "deleted" for a tracked file that is gone; a symbolic link
// hashes as its target's name.
func fileDigest(path string) (string, error) {
	fi, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "deleted", nil
	case err != nil:
		return "", err
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(path)
		return "link:" + target, err
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if fi.Mode()&0o111 != 0 {
		sum += "+x"
	}
	return sum, nil
}

// cmdLine is a command as the key sees it: directory, arguments and the
// extra variables it sets, PATH aside (tools are keyed by version).
func cmdLine(c run.Cmd) string {
	parts := []string{c.Dir, strings.Join(c.Argv, "\x1f")}
	var env []string
	for _, kv := range c.Env {
		if !strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	sort.Strings(env)
	return strings.Join(append(parts, env...), " ")
}

// portable replaces the repository root with $ROOT, so two clones in
// different directories share keys.
func (c *Cache) portable(s string) string { return strings.ReplaceAll(s, c.Root, "$ROOT") }

// matching returns the entries of environ named name (or, for "X*",
// starting with X), sorted; an unset variable is "NAME=" plus a marker, so
// unset and empty differ.
func matching(environ []string, name string) []string {
	prefix, isPrefix := strings.CutSuffix(name, "*")
	var out []string
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if k == name || isPrefix && strings.HasPrefix(k, prefix) {
			out = append(out, kv)
		}
	}
	if len(out) == 0 && !isPrefix {
		return []string{name + "=\x00unset"}
	}
	sort.Strings(out)
	return out
}

func digestString(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// toolVersion is what the tool prints for its version, remembered per
// executable (path, size, modification time) in tools.json so a no-op run
// starts no process; "missing" when it is not installed.
func (c *Cache) toolVersion(ctx context.Context, environ []string, pathEnv, name string) (string, error) {
	bin, args := name, []string{"--version"}
	if t, ok := toolchain.Find(name); ok && t.Bin != "" {
		bin = t.Bin
		if len(t.VersionArgs) > 0 {
			args = t.VersionArgs
		}
	}
	if bin == "rustc" {
		args = []string{"-vV"} // the commit and LLVM version too
	}
	if pathEnv == "" {
		pathEnv = envValue(environ, "PATH")
	}
	id := stamp.Executable(pathEnv, bin)
	if id == "missing" {
		return "missing", nil
	}
	c.toolsMu.Lock()
	defer c.toolsMu.Unlock()
	if c.tools == nil {
		c.tools = map[string]string{}
		if b, err := os.ReadFile(c.Local.path("tools.json")); err == nil {
			json.Unmarshal(b, &c.tools) // a damaged file is rebuilt
		}
	}
	memo := id + " " + strings.Join(args, " ")
	if v, ok := c.tools[memo]; ok {
		return v, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	exe, _ := run.LookPath(pathEnv, bin)
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(environ, "PATH="+pathEnv)
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %v", bin, strings.Join(args, " "), err)
	}
	v := strings.Join(strings.Fields(string(out)), " ")
	c.tools[memo] = v
	if b, err := json.Marshal(c.tools); err == nil {
		atomicfile.WriteFile(c.Local.path("tools.json"), b, 0o644) // a lost write only costs a rerun of --version
	}
	return v, nil
}

func envValue(environ []string, name string) string {
	for i := len(environ) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(environ[i], "="); ok && k == name {
			return v
		}
	}
	return ""
}

// explain compares the manifest with the one the step last recorded or
// missed with, and says what changed (at most a few lines).
func explain(prev, cur []string) []string {
	split := func(lines []string) map[string]string {
		m := map[string]string{}
		for _, l := range lines {
			i := strings.LastIndexByte(l, ' ')
			if i < 0 {
				continue
			}
			m[l[:i]] = l[i+1:]
		}
		return m
	}
	p, c := split(prev), split(cur)
	var out []string
	for _, l := range cur {
		i := strings.LastIndexByte(l, ' ')
		if i < 0 {
			continue
		}
		subject := l[:i]
		old, ok := p[subject]
		switch {
		case !ok:
			out = append(out, describe(subject)+" is new")
		case old != l[i+1:]:
			out = append(out, describe(subject)+" changed")
		}
	}
	for _, l := range prev {
		if i := strings.LastIndexByte(l, ' '); i >= 0 {
			if _, ok := c[l[:i]]; !ok {
				out = append(out, describe(l[:i])+" is gone")
			}
		}
	}
	if len(out) == 0 {
		return []string{"the inputs are as last recorded (the result was not kept, or was evicted)"}
	}
	const most = 5
	if len(out) > most {
		out = append(out[:most], fmt.Sprintf("and %d more", len(out)-most))
	}
	return out
}

// describe turns a manifest subject into words: "in workers/x.py" is the
// file, "tool ruff" the tool ruff's version, "env X" the variable X.
func describe(subject string) string {
	kind, rest, _ := strings.Cut(subject, " ")
	switch kind {
	case "in":
		return rest
	case "tool":
		return rest + "'s version"
	case "env":
		return "$" + rest
	case "cmd":
		return "command " + rest + " (its arguments or variables)"
	}
	return subject
}
