// Package cache is the action cache: a step that succeeded is recorded
// under the sha256 of everything it reads (files, commands, variables,
// tool versions, the build system itself) with the files it writes; an
// unchanged rerun restores those files and reports the step as cached
// instead of running it. Results and blobs live in .tasker/cache and,
// when TASKER_REMOTE_CACHE is set, in a remote cache with the Bazel HTTP
// layout (/ac/<key>, /cas/<sha256>), shared by every clone. Failures are
// never recorded.
package cache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/atomicfile"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
)

// The variables the cache reads.
const (
	NoCacheEnv       = "MAGE_NO_CACHE"               // 1: run every step, record nothing
	RemoteEnv        = "TASKER_REMOTE_CACHE"         // http(s)://[user:password@]host[:port][/prefix]
	RemoteWriteEnv   = "TASKER_REMOTE_CACHE_WRITE"   // 1: upload results (CI on main)
	RemoteTimeoutEnv = "TASKER_REMOTE_CACHE_TIMEOUT" // per request; default 10s
	MaxSizeEnv       = "TASKER_CACHE_MAX_SIZE"       // the local store's bound: 4G, 500M; default 4G
)

// Cache is one session's view of the local and remote stores.
type Cache struct {
	Root   string
	Local  Dir
	Remote *Remote // nil: no remote cache
	Off    bool    // MAGE_NO_CACHE
	// MaxBytes bounds the local store: past it, the entries used least
	// recently are removed (a debug build of the three extensions is
	// about 45 MB, so a day of Rust edits would otherwise fill a disk).
	MaxBytes int64

	src        *sources
	toolsMu    sync.Mutex
	tools      map[string]string // executable identity + args → version
	remoteDown atomic.Bool
	warnOnce   sync.Once
}

// New is the cache of the repository at root; off is MAGE_NO_CACHE.
func New(root string, off bool) *Cache {
	return &Cache{Root: root, Local: Dir(filepath.Join(root, ".tasker", "cache")), Off: off, src: &sources{root: root}, MaxBytes: 4 << 30}
}

// Configure reads the remote cache's settings from get (the session's
// environment; truthy reads a flag). A malformed setting is exit 5, naming
// the variable but never its value (it may hold a password).
func (c *Cache) Configure(get func(string) string, truthy func(string) bool) error {
	if v := get(MaxSizeEnv); v != "" {
		n, err := parseSize(v)
		if err != nil {
			return fail.New(fail.Config, "%s=%q: %v; set it to e.g. 4G or 500M", MaxSizeEnv, v, err)
		}
		c.MaxBytes = n
	}
	raw := strings.TrimSpace(get(RemoteEnv))
	if raw == "" || c.Off {
		return nil
	}
	timeout := 10 * time.Second
	if v := get(RemoteTimeoutEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fail.New(fail.Config, "%s=%q is not a duration; set it to e.g. 10s", RemoteTimeoutEnv, v)
		}
		timeout = d
	}
	remote, err := NewRemote(raw, truthy(RemoteWriteEnv), timeout)
	if err != nil {
		return fail.New(fail.Config, "%s is %v; set it to the cache's base URL, e.g. http://cache.internal:8080 (bazel-remote) or an HTTP/WebDAV directory", RemoteEnv, err)
	}
	c.Remote = remote
	return nil
}

// Do runs fn unless a success with the same inputs is recorded: then the
// outputs are restored and the step ends as cached. On a miss it says what
// changed since the step last ran here, runs fn and, when fn succeeds and
// the inputs did not change meanwhile, records the outputs.
func (c *Cache) Do(ctx context.Context, r *run.Runner, sp Spec, fn func(context.Context, *run.Runner) error) error {
	if c == nil || c.Off || r.DryRun() {
		return fn(ctx, r)
	}
	for _, o := range sp.Outputs {
		if _, err := c.inside(o); err != nil {
			r.Infof("%s is not cached: %v", sp.Name, err) // a CARGO_TARGET_DIR elsewhere, say
			return fn(ctx, r)
		}
	}
	manifest, err := c.manifest(ctx, r, sp)
	if err != nil {
		r.Warnf("cache: %s: %v; running it without the cache", sp.Name, err)
		return fn(ctx, r)
	}
	k := key(manifest)
	if res, from, ok := c.lookup(ctx, r, k); ok {
		err := c.restore(ctx, r, res)
		if err == nil && from == "remote" {
			err = c.Local.put(ctx, ac, k, res.Marshal()) // its blobs are local now too
		}
		if err == nil {
			c.remember(sp.Name, manifest)
			return run.FromCache(res.Took(), from)
		}
		r.Warnf("cache: %s: cannot restore its outputs (%v); running it", sp.Name, err)
	} else if prev := c.recalled(sp.Name); prev != nil { // a first run has nothing to explain
		r.Infof("%s not cached: %s", sp.Name, strings.Join(explain(prev, manifest), "; "))
	}
	start := time.Now()
	err = fn(ctx, r)
	end := time.Now()
	c.remember(sp.Name, manifest) // a failure too: the next miss says what was fixed
	if err != nil {
		return err
	}
	if after, err := c.manifest(ctx, r, sp); err != nil || key(after) != k {
		r.Warnf("cache: %s: its inputs changed while it ran; not recorded", sp.Name)
		return nil
	}
	if err := c.record(ctx, r, k, sp.Outputs, start, end); err != nil {
		r.Warnf("cache: %s: not recorded: %v", sp.Name, err)
	}
	return nil
}

// lookup finds a recorded success, locally first.
func (c *Cache) lookup(ctx context.Context, r *run.Runner, k string) (Result, string, bool) {
	if b, err := c.Local.get(ctx, ac, k); err == nil {
		if res, err := Unmarshal(b); err == nil {
			return res, "local", true
		}
	}
	if !c.remoteUp() {
		return Result{}, "", false
	}
	b, err := c.Remote.get(ctx, ac, k)
	if err != nil {
		if !errors.Is(err, errNotFound) {
			c.remoteFailed(r, err)
		}
		return Result{}, "", false
	}
	res, err := Unmarshal(b)
	if err != nil {
		r.Warnf("cache: the remote result %s… is unusable (%v); running the step", k[:12], err)
		return Result{}, "", false
	}
	return res, "remote", true
}

// restore writes each output from its blob, fetched from the remote cache
// when the local store lacks it; every blob is checked against its hash.
func (c *Cache) restore(ctx context.Context, r *run.Runner, res Result) error {
	for _, o := range res.Outputs {
		dst, err := c.inside(o.Path)
		if err != nil {
			return err
		}
		blob, err := c.Local.get(ctx, cas, o.Digest.Hash)
		if err != nil && c.remoteUp() {
			if blob, err = c.Remote.get(ctx, cas, o.Digest.Hash); err != nil && !errors.Is(err, errNotFound) {
				c.remoteFailed(r, err)
			}
		}
		if err != nil {
			return fmt.Errorf("%s: blob %s…: %w", o.Path, o.Digest.Hash[:12], err)
		}
		if sum := sha256.Sum256(blob); hex.EncodeToString(sum[:]) != o.Digest.Hash || int64(len(blob)) != o.Digest.Size {
			return fmt.Errorf("%s: blob %s… does not match its hash (damaged or tampered with)", o.Path, o.Digest.Hash[:12])
		}
		if err := c.Local.put(ctx, cas, o.Digest.Hash, blob); err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if o.Executable {
			mode = 0o755
		}
		if err := atomicfile.WriteFile(dst, blob, mode); err != nil {
			return err
		}
	}
	return nil
}

// inside resolves an output path under the root, refusing one that is
// absolute or climbs out (a result from a remote cache is not trusted).
func (c *Cache) inside(rel string) (string, error) {
	clean := filepath.Clean(filepath.FromSlash(rel))
	if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("output %q is outside the repository", rel)
	}
	return filepath.Join(c.Root, clean), nil
}

// record stores the outputs as blobs and the result under k, locally and,
// with TASKER_REMOTE_CACHE_WRITE=1, remotely (blobs first, so a result is
// never visible before what it names).
func (c *Cache) record(ctx context.Context, r *run.Runner, k string, outputs []string, start, end time.Time) error {
	host, _ := os.Hostname()
	res := Result{Start: start, End: end, Worker: host}
	blobs := map[string][]byte{}
	files, err := c.outputFiles(outputs)
	if err != nil {
		return err
	}
	for _, rel := range files {
		path := filepath.Join(c.Root, filepath.FromSlash(rel))
		fi, err := os.Stat(path)
		if err != nil {
			return err
		}
		blob, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(blob)
		d := Digest{Hash: hex.EncodeToString(sum[:]), Size: int64(len(blob))}
		blobs[d.Hash] = blob
		res.Outputs = append(res.Outputs, Output{Path: rel, Digest: d, Executable: fi.Mode()&0o111 != 0})
	}
	for h, blob := range blobs {
		if err := c.Local.put(ctx, cas, h, blob); err != nil {
			return err
		}
	}
	data := res.Marshal()
	if err := c.Local.put(ctx, ac, k, data); err != nil {
		return err
	}
	if err := c.Local.trim(c.MaxBytes); err != nil {
		r.Warnf("cache: trimming %s: %v", c.Local, err)
	}
	if !c.remoteUp() || !c.Remote.Write {
		return nil
	}
	for h, blob := range blobs {
		ok, err := c.Remote.has(ctx, cas, h)
		if err == nil && !ok {
			err = c.Remote.put(ctx, cas, h, blob)
		}
		if err != nil {
			c.remoteFailed(r, err)
			return nil
		}
	}
	if err := c.Remote.put(ctx, ac, k, data); err != nil {
		c.remoteFailed(r, err)
	}
	return nil
}

// outputFiles expands the declared outputs (files, or directories whose
// files are all outputs) to files relative to the root; each must exist.
func (c *Cache) outputFiles(outputs []string) ([]string, error) {
	var files []string
	for _, rel := range outputs {
		path, err := c.inside(rel)
		if err != nil {
			return nil, err
		}
		err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() {
				r, _ := filepath.Rel(c.Root, p)
				files = append(files, filepath.ToSlash(r))
			}
			return nil
		})
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("the declared output %s was not written", rel)
		}
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}

func (c *Cache) remoteUp() bool { return c.Remote != nil && !c.remoteDown.Load() }

// remoteFailed turns the remote cache off for the rest of the session with
// one warning: a cache that is down or slow never fails a build.
func (c *Cache) remoteFailed(r *run.Runner, err error) {
	c.remoteDown.Store(true)
	c.warnOnce.Do(func() {
		r.Warnf("remote cache %s: %v; going on with the local cache only", c.Remote, err)
	})
}

// remember keeps the step's manifest, for explaining its next miss.
func (c *Cache) remember(step string, manifest []string) {
	atomicfile.WriteFile(c.Local.path("manifests", manifestName(step)), []byte(strings.Join(manifest, "\n")), 0o644) // best effort
}

func (c *Cache) recalled(step string) []string {
	b, err := os.ReadFile(c.Local.path("manifests", manifestName(step)))
	if err != nil {
		return nil
	}
	return strings.Split(string(b), "\n")
}

func manifestName(step string) string { return strings.NewReplacer(":", "-", "/", "-").Replace(step) }
