package services

import (
	"strings"
	"testing"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/kit"
	"github.com/tasker-systems/tasker-build/magefiles/internal/lang"
	"github.com/tasker-systems/tasker-build/magefiles/internal/python"
	"github.com/tasker-systems/tasker-build/magefiles/internal/ruby"
)

func stack(t *testing.T, vars ...string) Stack {
	s, _ := kit.TestSession(t, t.TempDir(), vars...)
	return Stack{S: s, Workers: []lang.Worker{python.Worker{}, ruby.Worker{}}}
}

func TestSpecsFollowTheEnvironment(t *testing.T) {
	st := stack(t, "TASKER_SERVICES=orchestration, python-worker", "PYTHON_WORKER_PORT=9183", "TASKER_SERVICE_TIMEOUT=45s")
	specs, err := st.Specs()
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 2 || specs[0].Name != "orchestration" || specs[1].Name != "python-worker" {
		t.Fatalf("specs = %+v", specs)
	}
	py := specs[1]
	if py.Port != 9183 || py.Service != "python-worker" || py.Timeout != 45*time.Second || strings.Join(py.After, ",") != "orchestration" {
		t.Fatalf("python-worker spec = %+v", py)
	}
	if specs[0].Port != 8080 || len(specs[0].After) != 0 {
		t.Fatalf("orchestration spec = %+v", specs[0])
	}
	if all, _ := stack(t).Specs(); len(all) != 4 {
		t.Fatalf("unset selects every service, got %d", len(all))
	}
}

func TestBadSettingsAreConfigErrors(t *testing.T) {
	for _, c := range []struct{ env, want string }{
		{"TASKER_SERVICES=orchestration,cobol-worker", `unknown service "cobol-worker"; valid names: orchestration, rust-worker, python-worker, ruby-worker`},
		{"TASKER_SERVICES=python-worker", "the workers need orchestration"},
		{"RUBY_WORKER_PORT=70000", `RUBY_WORKER_PORT="70000" is not a port`},
		{"TASKER_SERVICE_TIMEOUT=soon", `TASKER_SERVICE_TIMEOUT="soon" is not a duration`},
	} {
		_, err := stack(t, c.env).Specs()
		if fail.Code(err) != fail.Config || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", c.env, err)
		}
	}
}
