package cli

import (
	"strconv"
	"strings"
	"testing"

	"github.com/tasker-systems/tasker-build/magefiles/internal/testkit"
)

// db:drop judges the host the driver connects to: a host parameter that
// overrides the URL's loopback host is refused (exit 4) and named.
func TestDropRefusesTheHostParameter(t *testing.T) {
	port := strconv.Itoa(testkit.FreePort(t))
	for _, host := range []string{"0.0.0.0", "192.0.2.1"} {
		dir := fakeRoot(t, "")
		url := "postgresql://u:Pw-guard@127.0.0.1:" + port + "/victim?host=" + host
		res := invoke(t, dir, []string{"TASKER_ROOT=" + dir, "DATABASE_URL=" + url}, "db:drop")
		res.expect(t, 4, "refusing to drop "+host+":"+port+"/victim", "the host "+host+" is not loopback")
		if strings.Contains(res.stdout+res.stderr, "Pw-guard") {
			t.Errorf("password printed:\n%s", res.stderr)
		}
	}
}
