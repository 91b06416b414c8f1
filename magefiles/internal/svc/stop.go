package svc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
)

// portReleaseWait is how long Stop waits for a port to be free once the
// service's processes are gone.
const portReleaseWait = 3 * time.Second

// Stop stops the named services, or every service with a pid file when
// names is empty: SIGTERM to each process group, SIGKILL after the grace
// period, then it checks that the port is free and removes the pid file. Pid
// files left by a crashed run are cleaned up; a pid that now belongs to
// another process is left alone. Nothing to stop is a success. In dry-run
// mode it only says what it would stop.
func (s *Supervisor) Stop(ctx context.Context, names ...string) error {
	if err := run.RequireGroups("stopping services"); err != nil {
		return err
	}
	if !s.R.DryRun() {
		unlock, err := s.exclusive(ctx, "services:stop")
		if err != nil {
			return err
		}
		defer unlock()
	}
	recs, missing, err := s.records(names)
	for _, name := range missing {
		s.R.Infof("%s is not running", name)
	}
	if len(recs) == 0 && len(names) == 0 && err == nil {
		s.R.Infof("no services are running")
	}
	if s.R.DryRun() {
		for _, rec := range recs {
			s.R.Infof("[dry-run] would stop %s (process group %d, port %d)", rec.Name, rec.Pgid, rec.Port)
		}
		return err
	}
	return errors.Join(err, s.stopAll(ctx, recs))
}

// stopAll stops recs in parallel.
func (s *Supervisor) stopAll(ctx context.Context, recs []record) error {
	errs := make([]error, len(recs))
	var wg sync.WaitGroup
	for i, rec := range recs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.stopOne(ctx, rec)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (s *Supervisor) stopOne(ctx context.Context, rec record) error {
	path := s.pidPath(rec.Name)
	switch identify(rec) {
	case gone:
		removeRecord(path)
		s.R.Infof("%s (pid %d) has exited; removed its pid file", rec.Name, rec.Pid)
		return nil
	case foreign:
		removeRecord(path)
		s.R.Warnf("%s: pid %d now belongs to another process (%s); left it alone and removed the stale pid file",
			rec.Name, rec.Pid, run.Command(rec.Pid))
		return nil
	case unverified:
		removeRecord(path)
		s.R.Warnf("%s: its pid file %s has no start time or names a process group its process does not lead, so it cannot prove which process it means; signalled nothing and removed it (pid %d: %s)",
			rec.Name, path, rec.Pid, run.Command(rec.Pid))
		return nil
	}
	begin := time.Now()
	if err := s.terminate(ctx, rec.Pgid); err != nil {
		return fail.Wrap(fail.Failed, err, "stopping %s", rec.Name)
	}
	removeRecord(path) // its processes are gone, whatever holds the port now
	if !waitFor(ctx, portReleaseWait, func() bool { return CheckPort(rec.Port) == nil }) {
		return fail.New(fail.Failed, "%s stopped, but %s", rec.Name, s.R.Redact(fmt.Sprint(CheckPort(rec.Port))))
	}
	s.R.Infof("stopped %s (pid %d) in %s", rec.Name, rec.Pid, since(begin))
	return nil
}

// terminate sends SIGTERM to group pgid and SIGKILL when it is still alive
// after the grace period (at once when ctx ends), then waits for it to go.
func (s *Supervisor) terminate(ctx context.Context, pgid int) error {
	alive := func() bool { return run.GroupAlive(pgid) }
	if err := run.SignalGroup(pgid, syscall.SIGTERM); err != nil {
		return err
	}
	if waitFor(ctx, s.grace(), func() bool { return !alive() }) {
		return nil
	}
	if err := run.SignalGroup(pgid, syscall.SIGKILL); err != nil {
		return err
	}
	if !waitFor(context.Background(), 5*time.Second, func() bool { return !alive() }) {
		return fmt.Errorf("process group %d survived SIGKILL", pgid)
	}
	return nil
}

// waitFor polls cond with backoff until it holds (true), limit passes or
// ctx ends (false).
func waitFor(ctx context.Context, limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	b := Backoff{Min: 10 * time.Millisecond, Max: 200 * time.Millisecond}
	for {
		if cond() {
			return true
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		t := time.NewTimer(min(b.Next(), left))
		select {
		case <-ctx.Done():
			return cond()
		case <-t.C:
		}
	}
}
