package cache

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/testkit"
)

// webdav is nginx serving a directory with PUT enabled on a loopback port,
// behind basic auth: the simplest store the remote protocol works with.
type webdav struct {
	url   string // with credentials
	store string // the directory it serves
}

const davUser, davPassword = "ci", "s3cret-pw"

func startWebDAV(t *testing.T) webdav {
	t.Helper()
	bin := testkit.NeedTool(t, "nginx")
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	for _, d := range []string{store, filepath.Join(dir, "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// nginx reads {PLAIN} passwords from its user file.
	if err := os.WriteFile(filepath.Join(dir, "htpasswd"), []byte(davUser+":{PLAIN}"+davPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	port := testkit.FreePort(t)
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // workers would run as nobody, who cannot write the test's directory
	}
	conf := fmt.Sprintf(`daemon off; master_process off; worker_processes 1; %s
pid %[2]s/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path %[2]s/tmp; proxy_temp_path %[2]s/tmp; fastcgi_temp_path %[2]s/tmp; uwsgi_temp_path %[2]s/tmp; scgi_temp_path %[2]s/tmp;
  client_max_body_size 100m;
  server {
    listen 127.0.0.1:%[3]d;
    root %[4]s;
    auth_basic cache; auth_basic_user_file %[2]s/htpasswd;
    location / { dav_methods PUT; create_full_put_path on; dav_access user:rw; }
  }
}
`, user, dir, port, store)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", filepath.Join(dir, "nginx.conf"))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx did not listen on %d within 10s: %s", port, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return webdav{url: fmt.Sprintf("http://%s:%s@127.0.0.1:%d/tasker", davUser, davPassword, port), store: filepath.Join(store, "tasker")}
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
	if err := a.do(a.remoteCache(dav.url, true, ""), a.spec(), a.runner()); err != nil {
		t.Fatal(err)
	}
	if n := entries(t, dav.store); n != 2 {
		t.Fatalf("the server holds %d entries, want the result and its blob", n)
	}
	err := b.do(b.remoteCache(dav.url, false, ""), b.spec(), b.runner())
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
		if strings.Contains(out, davPassword) {
			t.Fatalf("the password was printed:\n%s", out)
		}
	}
}

// Without TASKER_REMOTE_CACHE_WRITE=1 nothing is uploaded (pull requests
// and desks read only).
func TestReadOnlyByDefault(t *testing.T) {
	dav := startWebDAV(t)
	a := newFixture(t)
	if err := a.do(a.remoteCache(dav.url, false, ""), a.spec(), a.runner()); err != nil {
		t.Fatal(err)
	}
	if n := entries(t, dav.store); n != 0 {
		t.Fatalf("a read-only cache uploaded %d entries", n)
	}
}

// A blob that does not match its hash is never restored: the step runs.
func TestADamagedBlobIsRefused(t *testing.T) {
	dav := startWebDAV(t)
	a, b := newFixture(t), newFixture(t)
	if err := a.do(a.remoteCache(dav.url, true, ""), a.spec(), a.runner()); err != nil {
		t.Fatal(err)
	}
	blobs, _ := filepath.Glob(filepath.Join(dav.store, "cas", "*"))
	if len(blobs) != 1 {
		t.Fatalf("blobs on the server: %v", blobs)
	}
	if err := os.WriteFile(blobs[0], []byte("<evil/>"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := b.do(b.remoteCache(dav.url, false, ""), b.spec(), b.runner()); err != nil || b.runs != 1 {
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
