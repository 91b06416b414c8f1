package run

import (
	"cmp"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// exec starts c in its own process group and waits for it. When ctx ends it
// sends SIGINT to the group, then SIGTERM and SIGKILL a grace period apart.
// Once the leader has exited, whatever is left of the group is killed, so a
// grandchild never outlives the command.
func (r *Runner) exec(ctx context.Context, c Cmd, stdout, stderr io.Writer) error {
	environ := Merge(r.o.Env, c.Env)
	path, err := LookPath(lookup(environ, "PATH"), c.Argv[0])
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	cmd := exec.Command(path, c.Argv[1:]...)
	cmd.Args[0] = c.Argv[0]
	cmd.Dir = c.Dir
	cmd.Env = environ
	cmd.SysProcAttr = ownGroup()
	outs, err := attach(cmd, stdout, stderr)
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		outs.abort()
		return err
	}
	outs.started()

	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var cancelled error
	select {
	case err = <-waited:
	case <-ctx.Done():
		cancelled = ctx.Err()
		err = r.stop(cmd.Process, waited)
	}
	signalTree(cmd.Process, syscall.SIGKILL)
	outs.drain(2 * time.Second)
	if cancelled != nil {
		return cancelled
	}
	return err
}

// stop escalates SIGINT → SIGTERM → SIGKILL on p's group until p exits.
func (r *Runner) stop(p *os.Process, waited <-chan error) error {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		signalTree(p, sig)
		select {
		case err := <-waited:
			return err
		case <-time.After(r.o.Grace):
		}
	}
	signalTree(p, syscall.SIGKILL)
	return <-waited
}

// pipes connects a child's stdout/stderr. Files (a terminal, a log file) are
// handed to the child directly, so tools keep their colours. Other writers are
// fed through our own pipes, which lets Wait return when the leader exits
// even if a grandchild still holds the write end.
type pipes struct {
	mine []*os.File // read ends we copy from
	kids []*os.File // write ends the child inherits
	done chan struct{}
}

func attach(cmd *exec.Cmd, stdout, stderr io.Writer) (*pipes, error) {
	p := &pipes{done: make(chan struct{})}
	var copiers int
	results := make(chan struct{}, 2)
	connect := func(w io.Writer) (*os.File, error) {
		if f, ok := w.(*os.File); ok {
			return f, nil
		}
		rd, wr, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		p.mine, p.kids = append(p.mine, rd), append(p.kids, wr)
		copiers++
		go func() { _, _ = io.Copy(w, rd); results <- struct{}{} }()
		return wr, nil
	}
	var err error
	if cmd.Stdout, err = connect(stdout); err != nil {
		p.abort()
		return nil, err
	}
	if cmd.Stderr, err = connect(stderr); err != nil {
		p.abort()
		return nil, err
	}
	go func() {
		for i := 0; i < copiers; i++ {
			<-results
		}
		close(p.done)
	}()
	return p, nil
}

// started closes our copies of the child's write ends.
func (p *pipes) started() {
	for _, f := range p.kids {
		f.Close()
	}
}

// drain waits for the copiers to reach EOF, giving up after limit (a process
// that left our group with setsid could hold a pipe forever).
func (p *pipes) drain(limit time.Duration) {
	select {
	case <-p.done:
	case <-time.After(limit):
	}
	for _, f := range p.mine {
		f.Close()
	}
}

func (p *pipes) abort() {
	p.started()
	p.drain(0)
}

// Merge layers overrides (KEY=VALUE) over base; later keys win. The result
// keeps base's order with overridden values in place.
func Merge(base, overrides []string) []string {
	out := append([]string(nil), base...)
	index := make(map[string]int, len(out))
	for i, kv := range out {
		index[key(kv)] = i
	}
	for _, kv := range overrides {
		if i, ok := index[key(kv)]; ok {
			out[i] = kv
			continue
		}
		index[key(kv)] = len(out)
		out = append(out, kv)
	}
	return out
}

func key(kv string) string {
	k, _, _ := strings.Cut(kv, "=")
	return k
}

func lookup(environ []string, k string) string {
	for i := len(environ) - 1; i >= 0; i-- {
		if key(environ[i]) == k {
			return environ[i][len(k)+1:]
		}
	}
	return ""
}

// LookPath finds bin in the directories of pathEnv (not the process PATH:
// children run with the merged environment, whose PATH may differ). A bin
// with a directory in it is checked as given.
func LookPath(pathEnv, bin string) (string, error) {
	if strings.ContainsAny(bin, pathSeparators) {
		if p, ok := executable(bin); ok {
			return p, nil
		}
		return "", &exec.Error{Name: bin, Err: exec.ErrNotFound}
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			continue
		}
		if p, ok := executable(filepath.Join(dir, bin)); ok {
			return p, nil
		}
	}
	return "", &exec.Error{Name: bin, Err: exec.ErrNotFound}
}

// withPathExt lists the files Windows would run for p: p itself when its
// extension is one of pathext's (PATHEXT; a default when empty), else p
// with each of them (cmd, rustup's proxies and npm's shims are .exe and
// .cmd files, named without their extension).
func withPathExt(p, pathext string) []string {
	var exts []string
	for _, e := range strings.Split(strings.ToLower(cmp.Or(pathext, ".com;.exe;.bat;.cmd")), ";") {
		if e != "" {
			exts = append(exts, e)
		}
	}
	if slices.Contains(exts, strings.ToLower(filepath.Ext(p))) {
		return []string{p}
	}
	out := make([]string, len(exts))
	for i, e := range exts {
		out[i] = p + e
	}
	return out
}
