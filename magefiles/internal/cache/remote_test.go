package cache

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/testkit"
	"github.com/tasker-systems/tasker-build/magefiles/internal/toolchain"
)

// startWebDAV installs nginx where it is missing (as setup installs any
// tool: apt-get as root or with sudo -n, brew) and starts the store; it
// skips, or fails under CI=true, when nginx cannot be had.
func startWebDAV(t *testing.T) testkit.WebDAV {
	t.Helper()
	path := os.Getenv("PATH") + string(os.PathListSeparator) + "/usr/sbin" // Debian keeps nginx there
	inst := &toolchain.Installer{Dir: t.TempDir(), Root: t.TempDir(), Index: toolchain.DefaultIndex, Auto: true, Platform: toolchain.Here()}
	var out testkit.SyncBuffer
	r := run.New(run.Options{Stdout: &out, Stderr: &out, Env: append(os.Environ(), "PATH="+path)})
	if err := inst.Install(context.Background(), r, path, "nginx"); err != nil {
		testkit.Missing(t, "nginx cannot be installed here, so the remote cache is untested", err.Error()+"\n"+out.String())
	}
	bin, err := toolchain.LookPath(path, "nginx")
	if err != nil {
		testkit.Missing(t, "nginx is not on PATH", err.Error())
	}
	return testkit.StartWebDAV(t, bin)
}

func (f *fixture) remoteCache(url string, write bool, timeout string) *Cache {
	f.t.Helper()
	c := f.cache()
	env := map[string]string{RemoteEnv: url, RemoteTimeoutEnv: timeout}
	if write {
		env[RemoteWriteEnv] = "1"
	}
	if err := c.Configure(func(k string) string { return env[k] }, func(k string) bool { return env[k] == "1" }); err != nil {
		f.t.Fatal(err)
	}
	return c
}

func entries(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

// A second, fresh clone replays the first clone's result from the remote
// cache: outputs restored, nothing run, and the password never printed.
func TestAFreshCloneReplaysAnotherClonesResults(t *testing.T) {
	dav := startWebDAV(t)
	a, b := newFixture(t), newFixture(t)
	if err := a.do(a.remoteCache(dav.URL, true, ""), a.spec(), a.runner()); err != nil {
		t.Fatal(err)
	}
	if n := entries(t, dav.Store); n != 2 {
		t.Fatalf("the server holds %d entries, want the result and its blob", n)
	}
	err := b.do(b.remoteCache(dav.URL, false, ""), b.spec(), b.runner())
	if cachedFrom(err) != "remote" || b.runs != 0 {
		t.Fatalf("clone b: %v, runs %d; want a remote hit\n%s", err, b.runs, b.out.String())
	}
	if got, err := os.ReadFile(filepath.Join(b.root, "out/report.xml")); err != nil || !strings.Contains(string(got), "testsuites") {
		t.Fatalf("clone b's output: %q %v", got, err)
	}
	// Now it is local too: a third run needs no server.
	if err := b.do(b.cache(), b.spec(), b.runner()); cachedFrom(err) != "local" {
		t.Fatalf("third run: %v, want a local hit", err)
	}
	for _, out := range []string{a.out.String(), b.out.String()} {
		if strings.Contains(out, dav.Password) {
			t.Fatalf("the password was printed:\n%s", out)
		}
	}
}

// Without TASKER_REMOTE_CACHE_WRITE=1 nothing is uploaded (pull requests
// and desks read only).
func TestReadOnlyByDefault(t *testing.T) {
	dav := startWebDAV(t)
	a := newFixture(t)
	if err := a.do(a.remoteCache(dav.URL, false, ""), a.spec(), a.runner()); err != nil {
		t.Fatal(err)
	}
	if n := entries(t, dav.Store); n != 0 {
		t.Fatalf("a read-only cache uploaded %d entries", n)
	}
}

// A blob that does not match its hash is never restored: the step runs.
func TestADamagedBlobIsRefused(t *testing.T) {
	dav := startWebDAV(t)
	a, b := newFixture(t), newFixture(t)
	if err := a.do(a.remoteCache(dav.URL, true, ""), a.spec(), a.runner()); err != nil {
		t.Fatal(err)
	}
	blobs, _ := filepath.Glob(filepath.Join(dav.Store, "cas", "*"))
	if len(blobs) != 1 {
		t.Fatalf("blobs on the server: %v", blobs)
	}
	if err := os.WriteFile(blobs[0], []byte("<evil/>"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := b.do(b.remoteCache(dav.URL, false, ""), b.spec(), b.runner()); err != nil || b.runs != 1 {
		t.Fatalf("clone b: %v, runs %d; want it to run", err, b.runs)
	}
	if got, _ := os.ReadFile(filepath.Join(b.root, "out/report.xml")); strings.Contains(string(got), "evil") {
		t.Fatal("the damaged blob was restored")
	}
	if !strings.Contains(b.out.String(), "does not match its hash") {
		t.Errorf("no warning about the damaged blob:\n%s", b.out.String())
	}
}

// A cache that is down or slow never fails a build: one warning, then
// local work for the rest of the session.
func TestARemoteThatIsDownOrSlowOnlyWarns(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
		http.NotFound(w, r)
	}))
	defer slow.Close()
	down := fmt.Sprintf("http://127.0.0.1:%d", testkit.FreePort(t))
	for name, url := range map[string]string{"down": down, "slow": slow.URL} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			c := f.remoteCache(url, true, "300ms")
			start := time.Now()
			for i := range 2 {
				sp := f.spec()
				sp.Name = fmt.Sprintf("py:step%d", i)
				if err := f.do(c, sp, f.runner()); err != nil {
					t.Fatal(err)
				}
			}
			if f.runs != 2 {
				t.Fatalf("runs %d, want 2", f.runs)
			}
			if n := strings.Count(f.out.String(), "going on with the local cache only"); n != 1 {
				t.Fatalf("%d warnings, want 1:\n%s", n, f.out.String())
			}
			if took := time.Since(start); took > 4*time.Second {
				t.Fatalf("a %s cache held the build for %s", name, took)
			}
		})
	}
}

// A malformed URL is one line naming the variable, never its value.
func TestMalformedRemoteURL(t *testing.T) {
	c := New(t.TempDir(), false)
	err := c.Configure(func(k string) string {
		if k == RemoteEnv {
			return "ftp://u:hunter2@host"
		}
		return ""
	}, func(string) bool { return false })
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), RemoteEnv) {
		t.Fatalf("got %v", err)
	}
	_ = context.Background
}
