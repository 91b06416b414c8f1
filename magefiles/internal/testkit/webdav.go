package testkit

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// WebDAV is nginx serving a directory with PUT enabled on a loopback port,
// behind basic auth: the simplest store a Bazel HTTP remote cache client
// works with.
type WebDAV struct {
	URL      string // the cache's base URL, credentials included
	Store    string // the directory behind URL
	Password string // in URL; output must never show it
}

// StartWebDAV runs nginx (bin; Debian's nginx-light) in the foreground,
// one process, until the test ends.
func StartWebDAV(t testing.TB, bin string) WebDAV {
	t.Helper()
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	for _, d := range []string{store, filepath.Join(dir, "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	const user, password = "ci", "s3cret-pw"
	// nginx reads {PLAIN} passwords from its user file.
	if err := os.WriteFile(filepath.Join(dir, "htpasswd"), []byte(user+":{PLAIN}"+password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	port := FreePort(t)
	runAs := ""
	if os.Geteuid() == 0 {
		runAs = "user root;" // nginx would switch to nobody, who cannot write the test's directory
	}
	conf := fmt.Sprintf(`daemon off; master_process off; worker_processes 1; %s
pid %[2]s/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path %[2]s/tmp; proxy_temp_path %[2]s/tmp; fastcgi_temp_path %[2]s/tmp; uwsgi_temp_path %[2]s/tmp; scgi_temp_path %[2]s/tmp;
  client_max_body_size 1g;
  server {
    listen 127.0.0.1:%[3]d;
    root %[4]s;
    auth_basic cache; auth_basic_user_file %[2]s/htpasswd;
    location / { dav_methods PUT; create_full_put_path on; dav_access user:rw; }
  }
}
`, runAs, dir, port, store)
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
	return WebDAV{URL: fmt.Sprintf("http://%s:%s@127.0.0.1:%d/tasker", user, password, port), Store: filepath.Join(store, "tasker"), Password: password}
}
