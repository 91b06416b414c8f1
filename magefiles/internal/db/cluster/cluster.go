// Package cluster runs a project-local PostgreSQL server with the system's
// binaries (initdb, pg_ctl): a throwaway development and test cluster with
// durability turned off (fsync, synchronous_commit and full_page_writes are
// off; a crash can corrupt it, and `mage db:destroy` is the cure).
//
// Layout under Dir: data/ (PGDATA), run/ (the unix socket), postgres.log and
// port (the port it last started on). The server listens on 127.0.0.1 only.
// PostgreSQL refuses to run as root, so as root every command runs as the
// postgres user through runuser, and Dir is chowned to that user.
//
// Other OS users get nothing: Dir, run/ and data/ are 0700, the socket
// accepts only peer logins of the cluster's OS user and the build system's
// own (pg_ident.conf maps them to the superuser and DATABASE_URL's role),
// and TCP logins need a password (scram-sha-256). Both files are rewritten
// on every start, so clusters made by older versions are closed too.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/gofrs/flock"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pgurl"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/toolchain"
)

// Runner is the part of *run.Runner the cluster uses.
type Runner interface {
	Run(ctx context.Context, c run.Cmd) error
	Output(ctx context.Context, c run.Cmd) (string, error)
	Infof(format string, args ...any)
}

// installHint is appended to "binaries missing" errors: the registry's
// commands for the server.
func installHint() string {
	t, _ := toolchain.Find("initdb")
	return "install PostgreSQL with " + t.Hint()
}

// Superuser is the bootstrap superuser initdb creates; it logs in over the
// cluster's socket as the OS user running the build (peer authentication).
const Superuser = "postgres"

// Settings are the dev-only server settings written to data/tasker.conf.
var Settings = []string{
	"fsync = off",
	"synchronous_commit = off",
	"full_page_writes = off",
	"max_connections = 200",
}

// Cluster is one local cluster.
type Cluster struct {
	Dir     string // absolute; created on Up
	PathEnv string // PATH used to find the binaries ("" = process PATH)
	Run     Runner
	// Role is DATABASE_URL's role: besides the superuser, the one the
	// owner and the build system may log in as over the socket.
	Role string
	// RunAs overrides the user the server runs as when we are root
	// (default "postgres").
	RunAs string
}

func (c *Cluster) DataDir() string   { return filepath.Join(c.Dir, "data") }
func (c *Cluster) SocketDir() string { return filepath.Join(c.Dir, "run") }
func (c *Cluster) LogFile() string   { return filepath.Join(c.Dir, "postgres.log") }
func (c *Cluster) portFile() string  { return filepath.Join(c.Dir, "port") }

// Exists reports whether the cluster has been initialised.
func (c *Cluster) Exists() bool {
	_, err := os.Stat(filepath.Join(c.DataDir(), "PG_VERSION"))
	return err == nil
}

// Running reports whether the server is up, and its port, from
// postmaster.pid (pid alive and its socket present).
func (c *Cluster) Running() (port int, ok bool) {
	pm, ok := c.postmaster()
	if !ok {
		return 0, false
	}
	if _, err := os.Stat(filepath.Join(c.SocketDir(), ".s.PGSQL."+strconv.Itoa(pm.port))); err != nil {
		return 0, false
	}
	return pm.port, true
}

// postmasterInfo is what postmaster.pid says about a live server.
type postmasterInfo struct {
	pid, port int
	started   time.Time
}

// postmaster reads postmaster.pid (pid, data directory, start time, port,
// …) and checks the pid is alive.
func (c *Cluster) postmaster() (postmasterInfo, bool) {
	b, err := os.ReadFile(filepath.Join(c.DataDir(), "postmaster.pid"))
	if err != nil {
		return postmasterInfo{}, false
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 4 {
		return postmasterInfo{}, false
	}
	pid, err1 := strconv.Atoi(strings.TrimSpace(lines[0]))
	started, err2 := strconv.ParseInt(strings.TrimSpace(lines[2]), 10, 64)
	port, err3 := strconv.Atoi(strings.TrimSpace(lines[3]))
	if err1 != nil || err2 != nil || err3 != nil || pid <= 0 {
		return postmasterInfo{}, false
	}
	if !run.Alive(pid) { // a zombie counts as dead: a killed postmaster may not be reaped yet
		return postmasterInfo{}, false
	}
	return postmasterInfo{pid: pid, port: port, started: time.Unix(started, 0)}, true
}

// staleWait bounds how long clearStaleLock waits for the dead server's
// processes to notice and exit.
const staleWait = 10 * time.Second

// clearStaleLock removes the lock files of a server that died without
// removing them (kill -9 of the postmaster), once none of its processes is
// left in the data directory. PostgreSQL itself refuses to start while the
// recorded pid exists, and a killed postmaster nobody has reaped yet (a
// container whose init does not reap) is a zombie that still exists.
func (c *Cluster) clearStaleLock(ctx context.Context) error {
	pidFile := filepath.Join(c.DataDir(), "postmaster.pid")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return nil // no lock: nothing to clear
	}
	lines := strings.Split(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(lines[0]))
	if run.Alive(pid) {
		return nil // a live server (or a foreign process): PostgreSQL decides
	}
	deadline := time.Now().Add(staleWait)
	for users := run.UsersOf(c.DataDir()); len(users) > 0; users = run.UsersOf(c.DataDir()) {
		if time.Now().After(deadline) {
			return fail.New(fail.Failed, "PostgreSQL in %s died, but its processes %v are still running there; stop them before starting it again", c.DataDir(), users)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	c.Run.Infof("the local PostgreSQL (pid %d) died without cleaning up; removing its stale lock files", pid)
	stale := []string{pidFile}
	if len(lines) > 3 {
		stale = append(stale, filepath.Join(c.SocketDir(), ".s.PGSQL."+strings.TrimSpace(lines[3])+".lock"))
	}
	for _, f := range stale {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// Replaced reports whether the running server's binary was replaced on
// disk after it started, and how. A package upgrade does that: the old
// server then loads the new version's libraries (plpgsql.so: "undefined
// symbol"). It checks nothing where the OS does not tell which file a
// process runs (run.Executable).
func (c *Cluster) Replaced() (string, bool) {
	pm, ok := c.postmaster()
	if !ok {
		return "", false
	}
	exe, gone, err := run.Executable(pm.pid)
	if err != nil {
		return "", false
	}
	if gone {
		return fmt.Sprintf("%s was replaced on disk after the server (pid %d) started", exe, pm.pid), true
	}
	// rewritten in place: newer than the start (whole seconds, as recorded)
	if st, err := os.Stat(exe); err == nil && st.ModTime().Truncate(time.Second).After(pm.started) {
		return fmt.Sprintf("%s changed on disk after the server (pid %d) started", exe, pm.pid), true
	}
	return "", false
}

// RecordedPort is the port the cluster last started on (0 if none).
func (c *Cluster) RecordedPort() int {
	b, err := os.ReadFile(c.portFile())
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// AdminURL connects as the bootstrap superuser over the cluster's socket.
func (c *Cluster) AdminURL(port int) pgurl.URL {
	q := url.Values{"host": {c.SocketDir()}, "port": {strconv.Itoa(port)}, "sslmode": {"disable"}}
	return pgurl.MustParse("postgresql://" + Superuser + "@/postgres?" + q.Encode())
}

// bins finds the server binaries: exit 3 with the install command if missing.
func (c *Cluster) bins(names ...string) ([]string, error) {
	var paths, missing []string
	for _, n := range names {
		p, err := toolchain.LookPath(c.PathEnv, n)
		if err != nil {
			missing = append(missing, n)
			continue
		}
		paths = append(paths, p)
	}
	if len(missing) > 0 {
		return nil, fail.New(fail.MissingTool, "PostgreSQL server binaries not found (%s); %s", strings.Join(missing, ", "), installHint())
	}
	return paths, nil
}

// owner is the unprivileged account that runs the server when we are root.
type owner struct {
	name     string
	uid, gid int
	runuser  string
}

func (c *Cluster) owner() (*owner, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	name := c.RunAs
	if name == "" {
		name = "postgres"
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fail.New(fail.MissingTool, "PostgreSQL refuses to run as root and there is no %q user to run it as; run as a normal user, or %s (it creates the user)", name, installHint())
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	ru, err := toolchain.LookPath(c.PathEnv, "runuser")
	if err != nil {
		for _, p := range []string{"/usr/sbin/runuser", "/sbin/runuser"} {
			if st, e := os.Stat(p); e == nil && st.Mode()&0o111 != 0 {
				ru, err = p, nil
				break
			}
		}
	}
	if err != nil {
		return nil, fail.New(fail.MissingTool, "running as root needs runuser (util-linux) to start PostgreSQL as %s; install util-linux or run as a normal user", name)
	}
	return &owner{name: name, uid: uid, gid: gid, runuser: ru}, nil
}

// cmd builds argv, prefixed with runuser when we are root.
func (o *owner) argv(argv ...string) []string {
	if o == nil {
		return argv
	}
	return append([]string{o.runuser, "-u", o.name, "--"}, argv...)
}

func (o *owner) chown(paths ...string) error {
	if o == nil {
		return nil
	}
	for _, p := range paths {
		if err := os.Lchown(p, o.uid, o.gid); err != nil {
			return err
		}
	}
	return nil
}

// socketPathMax is the longest unix socket path goos takes: sun_path holds
// 108 bytes on Linux, 104 on macOS and the BSDs, the final NUL included.
func socketPathMax(goos string) int {
	switch goos {
	case "darwin", "freebsd", "netbsd", "openbsd", "dragonfly":
		return 103
	}
	return 107
}

// prepare creates Dir and run/, owned by the server's user, and checks that
// user can reach Dir.
func (c *Cluster) prepare(o *owner) error {
	if !filepath.IsAbs(c.Dir) {
		return fmt.Errorf("cluster directory %q is not absolute", c.Dir)
	}
	sock := filepath.Join(c.SocketDir(), ".s.PGSQL.65535")
	if limit := socketPathMax(runtime.GOOS); len(sock) > limit {
		return fail.New(fail.Config, "the cluster directory %s is too deep for a unix socket path (%d > %d bytes); move the checkout to a shorter path, or set TASKER_PG_DIR", c.Dir, len(sock), limit)
	}
	if err := c.closeDirs(o); err != nil {
		return err
	}
	if o != nil {
		for d := filepath.Dir(c.Dir); ; d = filepath.Dir(d) {
			st, err := os.Stat(d)
			if err != nil {
				return err
			}
			if st.Mode().Perm()&0o001 == 0 {
				return fail.New(fail.Config, "the %s user cannot reach %s: %s is not searchable by others; run chmod o+x %s", o.name, c.Dir, d, d)
			}
			if d == filepath.Dir(d) {
				break
			}
		}
	}
	return nil
}

// Up initialises the cluster if needed and starts it, idempotently. It
// listens on port, or on a free port if port is 0 or taken; it returns the
// port it runs on, also recorded in Dir/port.
func (c *Cluster) Up(ctx context.Context, port int) (int, error) {
	if err := run.RequireGroups("the local PostgreSQL cluster"); err != nil {
		return 0, err
	}
	if p, ok := c.Running(); ok {
		if _, replaced := c.Replaced(); !replaced {
			return p, c.closeRunning(ctx)
		}
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return 0, err
	}
	unlock, err := c.lock(ctx)
	if err != nil {
		return 0, err
	}
	defer unlock()
	if p, ok := c.Running(); ok {
		why, replaced := c.Replaced()
		if !replaced { // another process started (or restarted) it while we waited
			return p, nil
		}
		c.Run.Infof("restarting the local PostgreSQL: %s (a throwaway dev cluster; an upgrade does this)", why)
		if err := c.stop(ctx); err != nil {
			return 0, err
		}
		port = p
	}
	b, err := c.bins("initdb", "pg_ctl")
	if err != nil {
		return 0, err
	}
	initdb, pgctl := b[0], b[1]
	o, err := c.owner()
	if err != nil {
		return 0, err
	}
	if err := c.prepare(o); err != nil {
		return 0, err
	}
	if !c.Exists() {
		c.Run.Infof("initialising a local PostgreSQL cluster in %s (dev settings: fsync, synchronous_commit, full_page_writes off)", c.Dir)
		argv := o.argv(initdb, "-D", c.DataDir(), "-U", Superuser, "-E", "UTF8", "--locale=C", "--no-sync",
			"--auth-local=peer", "--auth-host=scram-sha-256")
		// quiet: initdb's 25 lines of progress help nobody; failures carry its stderr
		if _, err := c.Run.Output(ctx, run.Cmd{Argv: argv, Dir: c.Dir}); err != nil {
			return 0, fail.Wrap(fail.Failed, err, "initdb failed in %s", c.DataDir())
		}
		conf := filepath.Join(c.DataDir(), "postgresql.conf")
		f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return 0, err
		}
		_, err = f.WriteString("\n# tasker-build: per-run settings (port, socket, dev durability)\ninclude_if_exists = 'tasker.conf'\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return 0, err
		}
	}
	if port == 0 || !free(port) {
		if port, err = freePort(); err != nil {
			return 0, err
		}
	}
	if err := c.writeConf(o, port); err != nil {
		return 0, err
	}
	if _, err := c.writeAccess(o); err != nil {
		return 0, err
	}
	if err := c.clearStaleLock(ctx); err != nil {
		return 0, err
	}
	os.Remove(c.LogFile()) // keep only this start's log: its tail goes into errors
	argv := o.argv(pgctl, "-D", c.DataDir(), "-l", c.LogFile(), "-w", "-t", "60", "-s", "start")
	if err := c.Run.Run(ctx, run.Cmd{Argv: argv, Dir: c.Dir}); err != nil {
		return 0, fail.Wrap(fail.Failed, err, "PostgreSQL did not start (log %s: %s)", c.LogFile(), c.logTail(3))
	}
	if err := os.WriteFile(c.portFile(), []byte(strconv.Itoa(port)+"\n"), 0o644); err != nil {
		return 0, err
	}
	return port, nil
}

func (c *Cluster) writeConf(o *owner, port int) error {
	lines := append([]string{
		"# written by tasker-build on every start: a throwaway dev/test cluster, not crash-safe",
		"listen_addresses = '127.0.0.1'",
		"port = " + strconv.Itoa(port),
		"unix_socket_directories = '" + strings.ReplaceAll(c.SocketDir(), "'", "''") + "'",
	}, Settings...)
	p := filepath.Join(c.DataDir(), "tasker.conf")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	return o.chown(p)
}

// closeDirs makes Dir and run/ (created if missing) 0700 and the server
// user's: through a world-searchable socket directory, any local user could
// log in wherever pg_hba.conf lets the socket in.
func (c *Cluster) closeDirs(o *owner) error {
	for _, d := range []string{c.Dir, c.SocketDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
		if err := os.Chmod(d, 0o700); err != nil {
			return err
		}
	}
	return o.chown(c.Dir, c.SocketDir())
}

// Ident is the pg_ident.conf map of the socket's peer logins.
const Ident = "tasker"

// access is pg_hba.conf and pg_ident.conf: the OS users running the server
// and the build may log in over the socket as the superuser or Role; over
// TCP, only with a password.
func (c *Cluster) access(o *owner) (hba, ident string) {
	hba = "# written by tasker-build on every start: nothing else may log in\n" +
		"local all all peer map=" + Ident + "\n" +
		"host  all all 127.0.0.1/32 scram-sha-256\n"
	ident = "# written by tasker-build on every start: OS user -> role, for peer logins over the socket\n"
	var osUsers []string
	if o != nil {
		osUsers = append(osUsers, o.name)
	}
	if me, err := user.Current(); err == nil {
		osUsers = append(osUsers, me.Username)
	}
	seen := map[string]bool{}
	for _, u := range osUsers {
		for _, role := range []string{Superuser, c.Role} {
			line := Ident + " " + u + " " + role + "\n"
			if role != "" && !seen[line] {
				seen[line] = true
				ident += line
			}
		}
	}
	return hba, ident
}

// writeAccess writes pg_hba.conf and pg_ident.conf, reporting whether
// either changed (a running server must then reload them).
func (c *Cluster) writeAccess(o *owner) (changed bool, err error) {
	hba, ident := c.access(o)
	for name, text := range map[string]string{"pg_hba.conf": hba, "pg_ident.conf": ident} {
		ch, err := writeOwned(o, filepath.Join(c.DataDir(), name), text)
		if err != nil {
			return changed, err
		}
		changed = changed || ch
	}
	return changed, nil
}

// closeRunning applies the access rules to a server that is already up (one
// started by an older version with trust logins and open directories).
func (c *Cluster) closeRunning(ctx context.Context) error {
	o, err := c.owner()
	if err != nil {
		return err
	}
	if err := c.closeDirs(o); err != nil {
		return err
	}
	changed, err := c.writeAccess(o)
	if err != nil || !changed {
		return err
	}
	b, err := c.bins("pg_ctl")
	if err != nil {
		return err
	}
	argv := o.argv(b[0], "-D", c.DataDir(), "-s", "reload")
	if err := c.Run.Run(ctx, run.Cmd{Argv: argv, Dir: c.Dir}); err != nil {
		return fail.Wrap(fail.Failed, err, "could not reload the access rules of PostgreSQL in %s", c.DataDir())
	}
	return nil
}

// writeOwned replaces path with text (0600, the server user's) unless it
// already holds it; the rename keeps concurrent readers from a half file.
func writeOwned(o *owner, path, text string) (bool, error) {
	if old, err := os.ReadFile(path); err == nil && string(old) == text {
		return false, nil
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*") // 0600
	if err != nil {
		return false, err
	}
	_, err = f.WriteString(text)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = o.chown(f.Name())
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return false, err
	}
	return true, nil
}

func (c *Cluster) logTail(n int) string {
	b, err := os.ReadFile(c.LogFile())
	if err != nil {
		return "no log"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// lock serialises Up, Down and Destroy across processes (parallel targets
// may all find the server down and try to start it): a file lock on
// Dir/.lock.
func (c *Cluster) lock(ctx context.Context) (func(), error) {
	l := flock.New(filepath.Join(c.Dir, ".lock"))
	waitCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	ok, err := l.TryLockContext(waitCtx, 50*time.Millisecond)
	switch {
	case ok:
		return func() { _ = l.Unlock() }, nil
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case err == nil || errors.Is(err, context.DeadlineExceeded):
		err = errors.New("timed out")
	}
	return nil, fmt.Errorf("locking %s: %w (another mage run is starting or stopping the cluster)", l.Path(), err)
}

// Down stops the server (fast shutdown) and keeps the data. It reports
// whether a server was running.
func (c *Cluster) Down(ctx context.Context) (bool, error) {
	if _, ok := c.Running(); !ok {
		return false, nil
	}
	unlock, err := c.lock(ctx)
	if err != nil {
		return true, err
	}
	defer unlock()
	if _, ok := c.Running(); !ok {
		return false, nil
	}
	return true, c.stop(ctx)
}

// stop stops the server; the caller holds the lock.
func (c *Cluster) stop(ctx context.Context) error {
	b, err := c.bins("pg_ctl")
	if err != nil {
		return err
	}
	o, err := c.owner()
	if err != nil {
		return err
	}
	argv := o.argv(b[0], "-D", c.DataDir(), "-m", "fast", "-w", "-t", "60", "-s", "stop")
	if err := c.Run.Run(ctx, run.Cmd{Argv: argv, Dir: c.Dir}); err != nil {
		return fail.Wrap(fail.Failed, err, "could not stop PostgreSQL in %s", c.DataDir())
	}
	return nil
}

// Destroy stops the server and deletes Dir.
func (c *Cluster) Destroy(ctx context.Context) error {
	if _, err := c.Down(ctx); err != nil {
		return err
	}
	return os.RemoveAll(c.Dir)
}

// free reports whether nothing listens on 127.0.0.1:port.
func free(port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// freePort asks the kernel for an unused port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
