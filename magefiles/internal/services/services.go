// Package services plans the local stack: the orchestration service and
// every worker, started by the supervisor (internal/svc) after what they
// run is built, and the end-to-end run that uses them.
package services

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/lang"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/rust"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
	"github.com/tasker-systems/tasker-build/magefiles/internal/svc"
	"github.com/tasker-systems/tasker-build/magefiles/internal/workspace"
)

// SelectEnv narrows the stack to some services
// ("orchestration,python-worker"); empty means all of them.
const SelectEnv = "TASKER_SERVICES"

// TimeoutEnv overrides each service's own health timeout (a Go duration).
const TimeoutEnv = "TASKER_SERVICE_TIMEOUT"

// Stack is the services of one session.
type Stack struct {
	S       *session.S
	Workers []lang.Worker
	Only    []string // the services to run; nil: TASKER_SERVICES, else all
}

// Port is a service's port: its variable (ORCHESTRATION_PORT, ...) or the default.
func (st Stack) Port(name string) (int, error) {
	def, err := workspace.ServiceByName(name)
	if err != nil {
		return 0, err
	}
	v := st.S.Env.Get(def.PortEnv())
	if v == "" {
		return def.Port, nil
	}
	p, err := strconv.Atoi(v)
	if err != nil || p < 1 || p > 65535 {
		return 0, fail.New(fail.Config, "%s=%q is not a port (1-65535)", def.PortEnv(), v)
	}
	return p, nil
}

// Specs lists every service for the supervisor: orchestration first, the
// workers once it is healthy.
func (st Stack) Specs() ([]svc.Spec, error) {
	timeout := 30 * time.Second
	if v := st.S.Env.Get(TimeoutEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return nil, fail.New(fail.Config, "%s=%q is not a duration (e.g. 45s)", TimeoutEnv, v)
		}
		timeout = d
	}
	var specs []svc.Spec
	add := func(name string, c run.Cmd) error {
		port, err := st.Port(name)
		if err != nil {
			return err
		}
		spec := svc.Spec{Name: name, Cmd: c, Port: port, Service: name, Timeout: timeout}
		if name != "orchestration" {
			spec.After = []string{"orchestration"}
		}
		specs = append(specs, spec)
		return nil
	}
	selected, err := st.Selected()
	if err != nil {
		return nil, err
	}
	for _, c := range workspace.ServiceCrates() {
		if selected[c.Service] {
			if err := add(c.Service, st.S.Cmd(".", st.S.TargetDir("debug", c.Package))); err != nil {
				return nil, err
			}
		}
	}
	for _, w := range st.Workers {
		if name := workspace.WorkerService(w.Name()); selected[name] {
			if err := add(name, w.Serve(st.S)); err != nil {
				return nil, err
			}
		}
	}
	return specs, nil
}

// Selected is the set of services SelectEnv names (all when unset); an
// unknown name is a configuration error listing the valid ones.
func (st Stack) Selected() (map[string]bool, error) {
	all := st.Names()
	out := map[string]bool{}
	want := strings.TrimSpace(st.S.Env.Get(SelectEnv))
	if st.Only != nil {
		want = strings.Join(st.Only, ",")
	}
	if want == "" {
		for _, n := range all {
			out[n] = true
		}
		return out, nil
	}
	for _, n := range strings.Split(want, ",") {
		n = strings.TrimSpace(n)
		if !slices.Contains(all, n) {
			return nil, fail.New(fail.Config, "%s=%q: unknown service %q; valid names: %s", SelectEnv, want, n, strings.Join(all, ", "))
		}
		out[n] = true
	}
	if !out["orchestration"] {
		return nil, fail.New(fail.Config, "%s=%q: the workers need orchestration; add it", SelectEnv, want)
	}
	return out, nil
}

// Build makes what the services run current: the databases (their URLs,
// with the port the cluster really listens on, go into *urls; split, the
// queue's too), the Rust binaries and each worker among specs (setup,
// build, freshness check); each part is skipped or incremental when
// nothing changed.
func (st Stack) Build(specs []svc.Spec, urls *db.URLs) []run.Step {
	s := st.S
	cargo := s.Cmd(".", "cargo", "build")
	for _, c := range workspace.ServiceCrates() {
		cargo.Argv = append(cargo.Argv, "-p", c.Package)
	}
	steps := []run.Step{
		db.SetupAllStep(s, urls),
		{Name: "rust:buildServices", Heavy: true, Do: func(ctx context.Context, r *run.Runner) error { return r.Run(ctx, cargo) }},
	}
	for _, w := range st.Workers {
		if slices.ContainsFunc(specs, func(sp svc.Spec) bool { return sp.Name == workspace.WorkerService(w.Name()) }) {
			steps = append(steps, lang.Loaded(w, s, func(lang.Worker, *session.S) []run.Step { return nil })...)
		}
	}
	return steps
}

// Supervisor is the session's supervisor.
func (st Stack) Supervisor(r *run.Runner) *svc.Supervisor { return svc.New(r, st.S.Paths) }

// Start is services:start: build, then start every service and wait until
// each is healthy.
func (st Stack) Start() run.Step {
	return run.Step{Name: "services:start", Do: func(ctx context.Context, r *run.Runner) error {
		specs, err := st.Specs()
		if err != nil {
			return err
		}
		var urls db.URLs
		if err := r.Serial(ctx, st.Build(specs, &urls)...); err != nil {
			return err
		}
		for i := range specs { // both variables: split, the queue is in PGMQ_DATABASE_URL's database
			specs[i].Cmd.Env = append(slices.Clone(specs[i].Cmd.Env), urls.Env()...)
		}
		return st.Supervisor(r).Start(ctx, specs)
	}}
}

// Stop is services:stop.
func (st Stack) Stop() run.Step {
	return run.Step{Name: "services:stop", Do: func(ctx context.Context, r *run.Runner) error {
		return st.Supervisor(r).Stop(ctx)
	}}
}

// E2E is the self-contained end-to-end run: the Rust end-to-end tests
// against the whole stack (see Around).
func (st Stack) E2E() run.Step {
	return st.Around("test:e2e", func(url string) []run.Step { return []run.Step{st.E2ETests(url)} })
}

// E2ETests are the Rust end-to-end tests against the orchestration at url.
func (st Stack) E2ETests(url string) run.Step {
	return rust.Workspace(st.S).E2E([]string{"TASKER_E2E_URL=" + url})
}

// ClientTests is client:testIntegration: tasker-client's API tests against
// orchestration and the Rust worker (the tests run tasks in its namespace);
// TASKER_SERVICES widens the stack.
func (st Stack) ClientTests() run.Step {
	if strings.TrimSpace(st.S.Env.Get(SelectEnv)) == "" {
		st.Only = []string{"orchestration", workspace.WorkerService("rust")}
	}
	return st.Around("test:client", func(url string) []run.Step {
		return []run.Step{rust.ClientTests(st.S, url)}
	})
}

// Around is a self-contained run against the stack: start it, run the
// steps inner makes for the orchestration URL, and always stop it (also on
// failure or Ctrl-C); on failure the tail of each service's log is printed.
func (st Stack) Around(name string, inner func(orchestrationURL string) []run.Step) run.Step {
	return run.Step{Name: name, Do: func(ctx context.Context, r *run.Runner) (err error) {
		sup := st.Supervisor(r)
		defer func() {
			if err != nil {
				st.tails(sup, r)
			}
			if serr := sup.Stop(context.WithoutCancel(ctx)); serr != nil {
				err = errors.Join(err, serr)
			}
		}()
		if err := r.Serial(ctx, st.Start()); err != nil {
			return err
		}
		port, err := st.Port("orchestration")
		if err != nil {
			return err
		}
		return r.Serial(ctx, inner(fmt.Sprintf("http://127.0.0.1:%d", port))...)
	}}
}

// tails prints the end of every service's log (their status first).
func (st Stack) tails(sup *svc.Supervisor, r *run.Runner) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if rows, err := sup.Status(ctx); err == nil {
		svc.PrintStatus(r.Stdout(), rows)
	}
	r.Warnf("the last lines of each service's log (.tasker/logs/):")
	_ = sup.Logs(ctx, r.Stdout(), 20, false)
}

// Names lists every service of the stack.
func (st Stack) Names() []string {
	var names []string
	for _, c := range workspace.ServiceCrates() {
		names = append(names, c.Service)
	}
	for _, w := range st.Workers {
		names = append(names, workspace.WorkerService(w.Name()))
	}
	return names
}

// Check prints the status table and fails when a running service is not
// healthy (services that are not running are listed, not failed).
func (st Stack) Check(ctx context.Context, r *run.Runner) error {
	rows, err := st.Supervisor(r).Status(ctx, st.Names()...)
	if err != nil {
		return err
	}
	svc.PrintStatus(r.Stdout(), rows)
	var bad []string
	for _, row := range rows {
		if row.Pid != 0 && row.Health != svc.Healthy {
			bad = append(bad, fmt.Sprintf("%s (%s)", row.Service, row.Detail))
		}
	}
	if len(bad) > 0 {
		return fail.New(fail.Failed, "unhealthy: %s; see `mage services:logs`", strings.Join(bad, ", "))
	}
	return nil
}
