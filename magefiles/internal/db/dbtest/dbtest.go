// Package dbtest starts a throwaway PostgreSQL cluster for a package's tests
// (from TestMain) with the build system's own cluster code, in a unique
// directory under the system temp dir on a free port, and removes it
// afterwards. Clusters left behind by killed test binaries are swept on the
// next start.
package dbtest

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db/cluster"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pg"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pgurl"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
)

// User and Password are the role tests connect as. The password has
// characters that need percent-encoding, and is distinctive enough to grep
// for in error strings.
const (
	User     = "tasker_t"
	Password = "Pw-9xQ:z@S3cr#t"
)

const prefix = "tasker-dbtest-"

// Server is a running throwaway cluster.
type Server struct {
	Cluster *cluster.Cluster
	Port    int
	Runner  *run.Runner
}

// URL is a TCP URL for database db as User.
func (s *Server) URL(db string) pgurl.URL {
	u := url.URL{Scheme: "postgresql", User: url.UserPassword(User, Password),
		Host: "127.0.0.1:" + strconv.Itoa(s.Port), Path: "/" + db, RawQuery: "sslmode=disable"}
	return pgurl.MustParse(u.String())
}

// Runner returns a quiet runner (TASKER_TEST_VERBOSE=1 shows its output).
func Runner() *run.Runner {
	var w io.Writer = io.Discard
	if os.Getenv("TASKER_TEST_VERBOSE") != "" {
		w = os.Stderr
	}
	return run.New(run.Options{Stdout: w, Stderr: w, Env: os.Environ()})
}

// Start starts a cluster and creates User as a superuser.
func Start(ctx context.Context) (*Server, error) {
	sweep(ctx)
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil { // the postgres user must reach it
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return nil, err
	}
	r := Runner()
	s := &Server{Cluster: &cluster.Cluster{Dir: filepath.Join(dir, "pg"), Run: r}, Runner: r}
	if s.Port, err = s.Cluster.Up(ctx, 0); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	conn, err := pg.Connect(ctx, s.Cluster.AdminURL(s.Port), 10*time.Second)
	if err == nil {
		err = pg.EnsureRole(ctx, conn, User, Password)
		conn.Close(ctx)
	}
	if err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// Stop stops the cluster and removes its directory.
func (s *Server) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = s.Cluster.Destroy(ctx)
	os.RemoveAll(filepath.Dir(s.Cluster.Dir))
}

// Main runs m against a fresh cluster stored in *srv, stops it afterwards
// (also when tests fail or panic) and exits.
func Main(m *testing.M, srv **Server) {
	os.Exit(main(m, srv))
}

func main(m *testing.M, srv **Server) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	s, err := Start(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dbtest: cannot start PostgreSQL:", err)
		return 1
	}
	*srv = s
	defer s.Stop()
	return m.Run()
}

// sweep removes clusters whose test binary is gone.
func sweep(ctx context.Context) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), prefix+"*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "owner.pid"))
		if err != nil {
			continue
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		if pid <= 0 || syscall.Kill(pid, 0) == nil {
			continue
		}
		c := &cluster.Cluster{Dir: filepath.Join(d, "pg"), Run: Runner()}
		_ = c.Destroy(ctx)
		os.RemoveAll(d)
	}
}
