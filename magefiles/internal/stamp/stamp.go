// Package stamp decides whether work can be skipped: a stamp file records
// the hash of a step's inputs when the step last succeeded, and the step is
// skipped while the inputs hash the same.
package stamp

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
)

// Stamp is one stamp file.
type Stamp struct{ Path string }

// Matches reports whether the stamp records key.
func (s Stamp) Matches(key string) bool {
	b, err := os.ReadFile(s.Path)
	return err == nil && strings.TrimSpace(string(b)) == key
}

// Save records key.
func (s Stamp) Save(key string) error {
	if err := os.MkdirAll(filepath.Dir(s.Path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(s.Path, []byte(key+"\n"), 0o644)
}

// Clear forgets the stamp, so the step runs next time.
func (s Stamp) Clear() error {
	if err := os.Remove(s.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Skipped are directories never hashed: build outputs, dependencies, caches.
var Skipped = map[string]bool{
	"target": true, "node_modules": true, ".venv": true, "dist": true, ".git": true,
	"__pycache__": true, ".pytest_cache": true, ".mypy_cache": true, ".ruff_cache": true, "tmp": true,
}

// Hash hashes the paths (files, or directory trees walked in order, minus
// Skipped directories) under root whose names pass keep (nil keeps all),
// plus extra strings (tool versions, say). A missing path hashes as
// missing, so creating it changes the hash. The result is 16 hex digits.
func Hash(root string, keep func(name string) bool, paths []string, extra ...string) (string, error) {
	h := sha256.New()
	for _, e := range extra {
		io.WriteString(h, "extra\x00"+e+"\x00")
	}
	var files []string
	for _, p := range paths {
		abs := filepath.Join(root, p)
		err := filepath.WalkDir(abs, func(path string, d fs.DirEntry, err error) error {
			switch {
			case errors.Is(err, fs.ErrNotExist) && path == abs:
				files = append(files, "missing:"+p)
				return nil
			case err != nil:
				return err
			case d.IsDir() && path != abs && Skipped[d.Name()]:
				return filepath.SkipDir
			case !d.IsDir() && (keep == nil || keep(d.Name())):
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return "", err
		}
	}
	sort.Strings(files)
	for _, f := range files {
		if strings.HasPrefix(f, "missing:") {
			io.WriteString(h, f+"\x00") // its own name: a missing a/ and a missing b/ differ
			continue
		}
		rel, _ := filepath.Rel(root, f)
		io.WriteString(h, rel+"\x00")
		if err := hashFile(h, f); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// Executable identifies the program bin as found on pathEnv: its resolved
// path, size and modification time ("missing" when not found). It changes
// when the program is upgraded or replaced by another, not when PATH gains
// unrelated directories.
func Executable(pathEnv, bin string) string {
	p, err := run.LookPath(pathEnv, bin)
	if err != nil {
		return "missing"
	}
	if real, err := filepath.EvalSymlinks(p); err == nil {
		p = real
	}
	fi, err := os.Stat(p)
	if err != nil {
		return "missing"
	}
	return fmt.Sprintf("%s:%d:%d", p, fi.Size(), fi.ModTime().UnixNano())
}

func hashFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}
