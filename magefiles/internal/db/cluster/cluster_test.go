package cluster

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
)

type quiet struct{}

func (quiet) Run(context.Context, run.Cmd) error              { return nil }
func (quiet) Infof(string, ...any)                            {}
func (quiet) Output(context.Context, run.Cmd) (string, error) { return "", nil }

func TestUpRefusesEarly(t *testing.T) {
	ctx := context.Background()
	if os.Geteuid() == 0 {
		c := &Cluster{Dir: filepath.Join(t.TempDir(), "pg"), Run: quiet{}, RunAs: "no_such_user_tasker"}
		_, err := c.Up(ctx, 0)
		if fail.Code(err) != fail.MissingTool || !strings.Contains(err.Error(), "install PostgreSQL with") {
			t.Errorf("missing user: %v", err)
		}
	}
	deep := filepath.Join(t.TempDir(), strings.Repeat("d", 100))
	_, err := (&Cluster{Dir: deep, Run: quiet{}}).Up(ctx, 0)
	if fail.Code(err) != fail.Config || !strings.Contains(err.Error(), "unix socket") {
		t.Errorf("deep dir: %v", err)
	}
}

// macOS's sun_path is 4 bytes shorter than Linux's: a socket path Linux
// takes fails there at start-up with "Unix-domain socket path is too long".
func TestSocketPathLimitIsTheOSOne(t *testing.T) {
	for goos, want := range map[string]int{"linux": 107, "darwin": 103, "freebsd": 103} {
		if got := socketPathMax(goos); got != want {
			t.Errorf("%s: %d, want %d", goos, got, want)
		}
	}
}

func TestNotRunning(t *testing.T) {
	c := &Cluster{Dir: t.TempDir()}
	if _, ok := c.Running(); ok || c.Exists() || c.RecordedPort() != 0 {
		t.Error("an empty directory looks like a cluster")
	}
	os.MkdirAll(c.DataDir(), 0o755)
	os.WriteFile(filepath.Join(c.DataDir(), "postmaster.pid"), []byte("999999999\n/x\n1\n5432\n"), 0o644)
	if _, ok := c.Running(); ok {
		t.Error("a stale postmaster.pid counts as running")
	}
	if was, err := c.Down(context.Background()); was || err != nil {
		t.Errorf("Down of a stopped cluster: %v %v", was, err)
	}
	u := c.AdminURL(6000)
	if !u.Socket() || u.Host() != c.SocketDir() || u.Port() != 6000 || u.User() != Superuser {
		t.Errorf("admin URL %s", u.Redacted())
	}
}
