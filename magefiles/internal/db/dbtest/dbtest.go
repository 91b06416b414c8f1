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
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db/cluster"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/migrator"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pg"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pgurl"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/source"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/testkit"
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

// BaseDir is where test clusters live: $TASKER_TEST_PGDIR, else /dev/shm
// (tmpfs: file creation there is ~50x cheaper than on a disk, and CREATE
// DATABASE creates hundreds of files), else the system temp dir.
func BaseDir() string {
	if d := os.Getenv("TASKER_TEST_PGDIR"); d != "" {
		return d
	}
	return testkit.ScratchDir()
}

// Start starts a cluster and creates User as a superuser.
func Start(ctx context.Context) (*Server, error) {
	sweep(ctx)
	dir, err := os.MkdirTemp(BaseDir(), prefix)
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
// (also when tests fail or panic) and exits. Without PostgreSQL's binaries
// the tests are skipped, except under CI (CI set), where that fails.
func Main(m *testing.M, srv **Server) {
	os.Exit(main(m, srv))
}

func main(m *testing.M, srv **Server) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	s, err := Start(ctx)
	cancel()
	if err != nil && fail.Code(err) == fail.MissingTool && os.Getenv("CI") == "" {
		fmt.Fprintln(os.Stderr, "dbtest: skipping the database tests:", err)
		return 0
	}
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
	dirs, _ := filepath.Glob(filepath.Join(BaseDir(), prefix+"*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "owner.pid"))
		if err != nil {
			continue
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		if pid <= 0 || run.Alive(pid) {
			continue
		}
		c := &cluster.Cluster{Dir: filepath.Join(d, "pg"), Run: Runner()}
		_ = c.Destroy(ctx)
		os.RemoveAll(d)
	}
}

// NewCluster is a cluster, not started, in a fresh directory the server's
// OS user can reach (t.TempDir's parent is 0700 to it), destroyed and
// removed when the test ends. base is the directory's parent, for files the
// server must read.
func NewCluster(t testing.TB) (c *cluster.Cluster, base string) {
	t.Helper()
	base, err := os.MkdirTemp(BaseDir(), "tasker-dbtest-cl-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	c = &cluster.Cluster{Dir: filepath.Join(base, "pg"), Run: Runner()}
	t.Cleanup(func() {
		_ = c.Destroy(context.Background())
		os.RemoveAll(base)
	})
	return c, base
}

// LeaveAsFound notes whether the cluster in dir runs now. The function it
// returns stops that cluster if it runs then but did not before (targets
// a test runs may start it), and says whether it did: the tests leave a
// developer's running cluster alone and nothing of their own behind.
func LeaveAsFound(dir string) func() (stopped bool, err error) {
	c := &cluster.Cluster{Dir: dir, Run: Runner()}
	_, wasRunning := c.Running()
	return func() (bool, error) {
		if wasRunning {
			return false, nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return c.Down(ctx)
	}
}

var seq atomic.Int64

// NewDB creates an empty database owned by User and drops it when the test
// ends. It returns its URL.
func (s *Server) NewDB(t testing.TB) pgurl.URL {
	t.Helper()
	name := fmt.Sprintf("t%d_%d", os.Getpid()%100000, seq.Add(1))
	s.Exec(t, "CREATE DATABASE "+pg.Ident(name)+" OWNER "+pg.Ident(User))
	t.Cleanup(func() { s.Exec(t, "DROP DATABASE IF EXISTS "+pg.Ident(name)+" WITH (FORCE)") })
	return s.URL(name)
}

// Exec runs statements as the superuser in the postgres database.
func (s *Server) Exec(t testing.TB, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pg.Connect(ctx, s.Cluster.AdminURL(s.Port), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// WriteDir writes files (name → contents) into a new temporary directory.
func WriteDir(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// Log records progress lines (it satisfies the db packages' loggers).
type Log struct {
	mu    sync.Mutex
	Lines []string
}

func (l *Log) Infof(format string, a ...any) { l.add("info: " + fmt.Sprintf(format, a...)) }
func (l *Log) Warnf(format string, a ...any) { l.add("warn: " + fmt.Sprintf(format, a...)) }
func (l *Log) Logf(format string, a ...any)  { l.Infof(format, a...) }

func (l *Log) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.Lines = append(l.Lines, s)
}

// String is every line so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.Lines, "\n")
}

// Connect opens a connection to u, closed when the test ends.
func Connect(t testing.TB, u pgurl.URL) *pgx.Conn {
	t.Helper()
	conn, err := pg.Connect(context.Background(), u, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// Options are migrator options for dir's migrations in layout at u.
func Options(t testing.TB, u pgurl.URL, dir string, layout source.Layout) migrator.Options {
	t.Helper()
	d, err := source.Load(dir, layout)
	if err != nil {
		t.Fatal(err)
	}
	return migrator.Options{URL: u, Dir: d, LockTimeout: 5 * time.Second}
}
