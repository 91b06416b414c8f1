// Package guard decides whether a destructive database operation (drop,
// reset, rollback, force, destroy) may run. It refuses (exit 4) unless the
// server is on this machine, TASKER_ENV is not production or staging, and the
// database is not one PostgreSQL needs; TASKER_ALLOW_DESTRUCTIVE=1 lifts it.
package guard

import (
	"strings"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pgurl"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
)

// Override is the variable that lifts every refusal.
const Override = "TASKER_ALLOW_DESTRUCTIVE"

// ProtectedEnvs are TASKER_ENV values that refuse destructive operations.
var ProtectedEnvs = []string{"production", "staging"}

// ProtectedDatabases are the databases PostgreSQL itself needs.
var ProtectedDatabases = []string{"postgres", "template0", "template1"}

// Request describes one destructive operation.
type Request struct {
	Op        string    // "drop", "reset", ... (for the message)
	URL       pgurl.URL // the resolved target
	Database  string    // the database affected; "" means URL.Database()
	TaskerEnv string    // value of TASKER_ENV
	Allow     bool      // TASKER_ALLOW_DESTRUCTIVE is set
}

// Check returns nil when the operation may run, and otherwise a *fail.Error
// with code fail.Refused naming the rule that refused it and the override.
// With Allow set it returns nil and reports in overridden which rule it
// would have applied ("" when none).
func Check(r Request) (overridden string, err error) {
	db := r.Database
	if db == "" {
		db = r.URL.Database()
	}
	var why string
	switch env := strings.ToLower(strings.TrimSpace(r.TaskerEnv)); {
	case !r.URL.Local():
		// every host the driver may try (a list, a host or hostaddr
		// parameter, PGHOST, a service file), not just the URL's
		if far := r.URL.NonLocal(); len(far) == 1 {
			why = "the host " + far[0] + " is not loopback or a unix socket"
		} else {
			why = "the hosts " + strings.Join(far, ", ") + " are not loopback or unix sockets"
		}
	case contains(ProtectedEnvs, env):
		why = "TASKER_ENV is " + env
	case db == "":
		why = "the URL names no database"
	case contains(ProtectedDatabases, db):
		why = "the database " + db + " is one PostgreSQL needs"
	}
	if why == "" {
		return "", nil
	}
	if r.Allow {
		return why, nil
	}
	return "", fail.New(fail.Refused, "refusing to %s %s: %s; set %s=1 to override", r.Op, r.URL.Addr(), why, Override)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
