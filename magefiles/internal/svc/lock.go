package svc

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofrs/flock"

	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
)

// lockWait bounds how long a start or stop waits for another one.
var lockWait = 2 * time.Minute

// exclusive takes the checkout's services lock, so that one start or stop
// runs at a time: two starts at once each saw the ports free, both spawned,
// and one cleaned up the other's pid files. It waits (saying for whom)
// while another holds it, until ctx ends or lockWait passes.
func (s *Supervisor) exclusive(ctx context.Context, what string) (unlock func(), err error) {
	if err := os.MkdirAll(s.RunDir, 0o755); err != nil {
		return nil, err
	}
	l := flock.New(filepath.Join(s.RunDir, ".lock"))
	owner := filepath.Join(s.RunDir, ".lock.owner")
	ok, err := l.TryLock()
	if err == nil && !ok {
		holder, _ := os.ReadFile(owner)
		s.R.Infof("waiting for %s to finish first", orUnknown(strings.TrimSpace(string(holder))))
		waitCtx, cancel := context.WithTimeout(ctx, lockWait)
		defer cancel()
		ok, err = l.TryLockContext(waitCtx, 50*time.Millisecond)
		if !ok && ctx.Err() == nil {
			return nil, fail.New(fail.Failed, "another services:start or services:stop (%s) has held %s for %s; let it finish, or stop it",
				orUnknown(strings.TrimSpace(string(holder))), l.Path(), lockWait)
		}
	}
	if err != nil {
		return nil, err
	}
	_ = os.WriteFile(owner, []byte(fmt.Sprintf("%s (pid %d)\n", what, os.Getpid())), 0o644)
	return func() {
		_ = os.Remove(owner)
		_ = l.Unlock()
	}, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "another services:start or services:stop"
	}
	return s
}
