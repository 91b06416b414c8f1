package svc

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
)

// record is a service's pid file, written the moment it is spawned.
type record struct {
	Name       string    `json:"name"`
	Pid        int       `json:"pid"`
	Pgid       int       `json:"pgid"`
	Port       int       `json:"port"`
	Argv       []string  `json:"argv"`
	Dir        string    `json:"dir"`
	Started    time.Time `json:"started"`
	Ticks      uint64    `json:"start_ticks,omitempty"` // kernel start time: tells our process from a reused pid
	Log        string    `json:"log"`
	Service    string    `json:"service"`     // the "service" its /health reports
	HealthPath string    `json:"health_path"` // "/health"
	Instance   string    `json:"instance"`    // the token its /health echoes (InstanceEnv)
}

// writeRecord writes rec atomically (a reader never sees half a file).
func writeRecord(path string, rec record) error {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func readRecord(path string) (record, error) {
	var rec record
	b, err := os.ReadFile(path)
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(b, &rec); err != nil || rec.Pid <= 1 || rec.Pgid <= 1 {
		return rec, fmt.Errorf("malformed pid file %s (delete it if no service is running): %v", path, err)
	}
	return rec, nil
}

func removeRecord(path string) { _ = os.Remove(path) }

// records reads the pid files of names, or every pid file when names is
// empty. missing lists the names that have none.
func (s *Supervisor) records(names []string) (recs []record, missing []string, err error) {
	if len(names) == 0 {
		entries, err := os.ReadDir(s.RunDir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, err
		}
		for _, e := range entries {
			if name, ok := strings.CutSuffix(e.Name(), ".json"); ok {
				names = append(names, name)
			}
		}
		sort.Strings(names)
	}
	var errs []error
	for _, name := range names {
		rec, err := readRecord(s.pidPath(name))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			missing = append(missing, name)
		case err != nil:
			errs = append(errs, err)
		default:
			recs = append(recs, rec)
		}
	}
	return recs, missing, errors.Join(errs...)
}

// liveness is what is left of a recorded service.
type liveness int

const (
	gone       liveness = iota // the process and its group are gone
	running                    // the recorded process is alive
	leftovers                  // the leader is gone but processes of its group are alive
	foreign                    // the pid now belongs to another process
	unverified                 // the record cannot prove which process it means: never signalled
)

// identify checks the recorded process: alive with the recorded start time,
// or its group (which it led, in a session of its own) still holding members
// started after it. A live pid with another start time was reused by an
// unrelated process, which must not be touched. A record without a start
// time, or naming a group its process does not lead, proves nothing: it is
// never acted on. (While any member of our group lives, the kernel does not
// hand its id out again.)
func identify(rec record) liveness {
	if rec.Ticks == 0 || rec.Pgid != rec.Pid {
		return unverified
	}
	if run.Alive(rec.Pid) {
		if ticks, ok := run.StartTicks(rec.Pid); !ok || ticks != rec.Ticks {
			return foreign
		}
		return running
	}
	if run.GroupAliveSince(rec.Pgid, rec.Ticks) {
		return leftovers
	}
	return gone
}
