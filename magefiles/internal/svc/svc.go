// Package svc supervises the long-running services (orchestration and the
// workers): Start spawns them in dependency order and waits for each one's
// /health, Stop signals their process groups, Status and Logs report on them.
//
// Every spawned service gets a pid file under .tasker/run at once (not after
// all are healthy), so an interrupted or failed start, or a crashed mage,
// always leaves something Stop can act on. Logs go to .tasker/logs.
package svc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/workspace"
)

// Spec describes one service to start.
type Spec struct {
	Name       string
	Cmd        run.Cmd
	Port       int
	HealthPath string        // default "/health"
	Service    string        // the "service" field /health must report; default Name
	Timeout    time.Duration // how long it may take to become healthy once spawned; default 30s
	After      []string      // services (in the same Start) that must be healthy before it starts
}

// Supervisor starts, stops and reports on services.
type Supervisor struct {
	R      *run.Runner
	RunDir string        // pid files: <RunDir>/<name>.json
	LogDir string        // logs: <LogDir>/<name>.log
	Host   string        // where /health is probed; default 127.0.0.1
	Grace  time.Duration // between SIGTERM and SIGKILL on Stop; default 5s
}

// New returns a Supervisor keeping its state under the repository's .tasker/.
func New(r *run.Runner, p workspace.Paths) *Supervisor {
	return &Supervisor{R: r, RunDir: p.State("run"), LogDir: p.State("logs")}
}

const (
	defaultTimeout = 30 * time.Second
	probeTimeout   = 2 * time.Second
	logTailLines   = 10
)

func (s *Supervisor) pidPath(name string) string { return filepath.Join(s.RunDir, name+".json") }
func (s *Supervisor) logPath(name string) string { return filepath.Join(s.LogDir, name+".log") }

func (s *Supervisor) host() string {
	if s.Host == "" {
		return "127.0.0.1"
	}
	return s.Host
}

func (s *Supervisor) grace() time.Duration {
	if s.Grace <= 0 {
		return 5 * time.Second
	}
	return s.Grace
}

func (s *Supervisor) healthURL(port int, path string) string {
	return fmt.Sprintf("http://%s:%d%s", s.host(), port, path)
}

// Start starts specs and returns once every one is healthy. It first checks
// that no port is taken (and that none of them is already running) and then
// starts nothing if one is. A service starts as soon as the services in its
// After are healthy, so independent ones start in parallel; each has its own
// health timeout. On any failure, or when ctx ends, everything this call
// started is stopped before Start returns. In dry-run mode it prints the
// commands in start order and does nothing else.
func (s *Supervisor) Start(ctx context.Context, specs []Spec) error {
	specs, err := plan(specs)
	if err != nil {
		return err
	}
	if s.R.DryRun() {
		for _, sp := range specs {
			if _, err := s.R.Spawn(sp.Cmd, s.logPath(sp.Name)); err != nil {
				return err
			}
		}
		return nil
	}
	if err := run.RequireGroups("starting services"); err != nil {
		return err
	}
	unlock, err := s.exclusive(ctx, "services:start")
	if err != nil {
		return err
	}
	defer unlock()
	if err := s.preflight(specs); err != nil {
		return err
	}

	begin := time.Now()
	startCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu      sync.Mutex
		started []record
		wg      sync.WaitGroup
	)
	track := func(rec record) { mu.Lock(); started = append(started, rec); mu.Unlock() }
	ready := make(map[string]chan struct{}, len(specs))
	for _, sp := range specs {
		ready[sp.Name] = make(chan struct{})
	}
	errs := make(chan error, len(specs)) // the first one is the cause: the others follow its cancel
	for _, sp := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.startOne(startCtx, sp, ready, track); err != nil {
				errs <- err
				cancel()
				return
			}
			close(ready[sp.Name])
		}()
	}
	wg.Wait()
	close(errs)
	err = <-errs
	if err == nil {
		s.R.Infof("%d service(s) healthy in %s", len(specs), since(begin))
		return nil
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("starting services was interrupted: %w", ctx.Err())
	}
	if len(started) > 0 {
		s.R.Infof("stopping the %d service(s) this start spawned", len(started))
	}
	return errors.Join(err, s.stopAll(context.WithoutCancel(ctx), started))
}

// startOne waits for sp's dependencies, spawns it, records it and waits
// until it is healthy.
func (s *Supervisor) startOne(ctx context.Context, sp Spec, ready map[string]chan struct{}, track func(record)) error {
	for _, dep := range sp.After {
		select {
		case <-ready[dep]:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	instance := newInstance()
	cmd := sp.Cmd
	cmd.Env = append(slices.Clone(cmd.Env), InstanceEnv+"="+instance)
	p, err := s.R.Spawn(cmd, s.logPath(sp.Name))
	if err != nil {
		return err
	}
	rec := record{
		Name: sp.Name, Pid: p.Pid, Pgid: p.Pgid, Port: sp.Port, Argv: p.Argv, Dir: sp.Cmd.Dir,
		Started: p.Started, Ticks: p.Ticks, Log: p.Log, Service: sp.Service, HealthPath: sp.HealthPath,
		Instance: instance,
	}
	track(rec) // before writing the pid file: a failed write still gets it stopped
	if err := writeRecord(s.pidPath(sp.Name), rec); err != nil {
		return err
	}
	took, err := s.waitHealthy(ctx, sp, p, instance)
	if err != nil {
		return err
	}
	s.R.Infof("%s healthy in %s (pid %d, port %d)", sp.Name, took, p.Pid, sp.Port)
	return nil
}

// waitHealthy probes sp's /health with backoff until it answers healthy,
// the process exits, sp.Timeout passes or ctx ends.
func (s *Supervisor) waitHealthy(ctx context.Context, sp Spec, p *run.Process, instance string) (time.Duration, error) {
	begin := time.Now()
	deadline := begin.Add(sp.Timeout)
	url := s.healthURL(sp.Port, sp.HealthPath)
	b := Backoff{Min: 50 * time.Millisecond, Max: time.Second}
	for {
		probeCtx, cancel := context.WithDeadline(ctx, earliest(deadline, time.Now().Add(probeTimeout)))
		last := Probe(probeCtx, url, sp.Service, instance)
		cancel()
		if last == nil {
			return since(begin), nil
		}
		wait := time.NewTimer(min(b.Next(), time.Until(deadline)))
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-p.Exited():
			return 0, fail.New(fail.Failed, "%s %s before it became healthy%s", sp.Name, p.ExitStatus(), s.logTail(p.Log, p.LogOffset))
		case <-wait.C:
		}
		if !time.Now().Before(deadline) {
			return 0, fail.New(fail.Failed, "%s did not become healthy within %s (last check of %s: %v)%s",
				sp.Name, sp.Timeout, url, last, s.logTail(p.Log, p.LogOffset))
		}
	}
}

// logTail renders the end of a log (from offset) for an error message.
func (s *Supervisor) logTail(path string, offset int64) string {
	lines, err := tail(path, offset, logTailLines)
	if err != nil || len(lines) == 0 {
		return fmt.Sprintf("; its log %s is empty", path)
	}
	return fmt.Sprintf("; last lines of %s:\n    %s", path, s.R.Redact(strings.Join(lines, "\n    ")))
}

// preflight refuses to start anything when a service is already running or
// a port is taken, naming every problem at once.
func (s *Supervisor) preflight(specs []Spec) error {
	var problems []string
	hint := ""
	for _, sp := range specs {
		if rec, err := readRecord(s.pidPath(sp.Name)); err == nil {
			switch identify(rec) {
			case running, leftovers:
				problems = append(problems, fmt.Sprintf("%s is already running (pid %d, port %d); stop it first", sp.Name, rec.Pid, rec.Port))
				continue
			default:
				removeRecord(s.pidPath(sp.Name)) // from a run that crashed; nothing left to stop
			}
		}
		if err := CheckPort(sp.Port); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", sp.Name, err))
			hint = " (stop what holds the port, or configure another one)"
		}
	}
	if len(problems) > 0 {
		return fail.New(fail.Failed, "nothing was started: %s%s", s.R.Redact(strings.Join(problems, "; ")), hint)
	}
	return nil
}

// plan applies defaults, validates specs and orders them so that every
// service comes after the ones in its After.
func plan(specs []Spec) ([]Spec, error) {
	specs = append([]Spec(nil), specs...) // defaults go into our copy
	byName := make(map[string]int, len(specs))
	ports := make(map[int]string, len(specs))
	for i := range specs {
		sp := &specs[i]
		switch {
		case sp.Name == "" || strings.ContainsAny(sp.Name, `/\`):
			return nil, fail.New(fail.Config, "invalid service name %q", sp.Name)
		case sp.Port <= 0 || sp.Port > 65535:
			return nil, fail.New(fail.Config, "%s: invalid port %d", sp.Name, sp.Port)
		case len(sp.Cmd.Argv) == 0 || !filepath.IsAbs(sp.Cmd.Dir):
			return nil, fail.New(fail.Config, "%s: needs a command and an absolute working directory", sp.Name)
		}
		if _, dup := byName[sp.Name]; dup {
			return nil, fail.New(fail.Config, "service %s is listed twice", sp.Name)
		}
		if other, dup := ports[sp.Port]; dup {
			return nil, fail.New(fail.Config, "%s and %s both use port %d", other, sp.Name, sp.Port)
		}
		byName[sp.Name], ports[sp.Port] = i, sp.Name
		if sp.HealthPath == "" {
			sp.HealthPath = "/health"
		}
		if sp.Service == "" {
			sp.Service = sp.Name
		}
		if sp.Timeout <= 0 {
			sp.Timeout = defaultTimeout
		}
	}
	const (
		unseen = iota
		visiting
		done
	)
	state := make([]int, len(specs))
	ordered := make([]Spec, 0, len(specs))
	var visit func(i int, path []string) error
	visit = func(i int, path []string) error {
		sp := specs[i]
		path = append(path, sp.Name)
		switch state[i] {
		case visiting:
			return fail.New(fail.Config, "services depend on each other in a cycle: %s", strings.Join(path, " → "))
		case done:
			return nil
		}
		state[i] = visiting
		for _, dep := range sp.After {
			j, ok := byName[dep]
			if !ok {
				return fail.New(fail.Config, "%s starts after %q, which is not being started", sp.Name, dep)
			}
			if err := visit(j, path); err != nil {
				return err
			}
		}
		state[i] = done
		ordered = append(ordered, sp)
		return nil
	}
	for i := range specs {
		if err := visit(i, nil); err != nil {
			return nil, err
		}
	}
	return ordered, nil
}

// newInstance is a random instance token.
func newInstance() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func since(t time.Time) time.Duration { return time.Since(t).Round(time.Millisecond) }

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
