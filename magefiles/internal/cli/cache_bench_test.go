package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/testkit"
)

// BenchmarkCheckCache measures the action cache on root `check`, side by
// side in one run, on two fresh clones of HEAD sharing a remote cache
// (nginx WebDAV on loopback):
//
//	cold       clone A's first check (setup, every compile, every test), uploading its results
//	uncached   A again with MAGE_NO_CACHE=1: what a warm rerun costs without the cache
//	noop       A again: nothing changed, everything replayed
//	python     A after a one-line change to the Python worker: only its steps run
//	remote     clone B's first check, reading A's results from the remote cache
//
// Each is reported in seconds, with noop/cold, noop/uncached and
// remote/cold ratios. It takes several minutes (the cold check compiles
// everything): go test -run '^$' -bench CheckCache -benchtime 1x ./magefiles/internal/cli/
func BenchmarkCheckCache(b *testing.B) {
	dav := testkit.StartWebDAV(b, testkit.NeedTool(b, "nginx")) // `mage install nginx` installs it
	for i := 0; i < b.N; i++ {
		a, c := cloneHead(b), cloneHead(b)
		remote := []string{"TASKER_REMOTE_CACHE=" + dav.URL}
		t := map[string]float64{}
		t["cold"] = timedCheck(b, a, append(remote, "TASKER_REMOTE_CACHE_WRITE=1"), nil)
		t["uncached"] = timedCheck(b, a, []string{"MAGE_NO_CACHE=1"}, nil)
		t["noop"] = timedCheck(b, a, nil, func(out string) {
			if n := strings.Count(out, "not cached:"); n > 0 {
				b.Errorf("the no-op check reran %d steps:\n%s", n, out)
			}
		})
		py := filepath.Join(a, "workers", "python", "python", "tasker_worker_py", "__init__.py")
		appendLine(b, py, "# touched by BenchmarkCheckCache\n")
		t["python"] = timedCheck(b, a, nil, func(out string) {
			for _, line := range strings.Split(out, "\n") {
				if strings.Contains(line, "not cached:") && !strings.Contains(line, "python:") {
					b.Errorf("a change to the Python worker reran another area: %s", line)
				}
			}
		})
		t["remote"] = timedCheck(b, c, remote, func(out string) {
			if !strings.Contains(out, "cached (remote)") {
				b.Errorf("clone B replayed nothing from the remote cache:\n%s", out)
			}
		})
		for _, k := range []string{"cold", "uncached", "noop", "python", "remote"} {
			b.ReportMetric(t[k], k+"-s")
		}
		b.ReportMetric(t["noop"]/t["cold"], "noop/cold")
		b.ReportMetric(t["noop"]/t["uncached"], "noop/uncached")
		b.ReportMetric(t["python"]/t["uncached"], "python/uncached")
		b.ReportMetric(t["remote"]/t["cold"], "remote/cold")
	}
}

// cloneHead clones the repository's HEAD into a temporary directory.
func cloneHead(b *testing.B) string {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "clone")
	if out, err := exec.Command("git", "clone", "-q", "--no-hardlinks", root, dir).CombinedOutput(); err != nil {
		b.Fatalf("git clone: %v\n%s", err, out)
	}
	return dir
}

// timedCheck runs `mage check` in dir and returns its wall time in
// seconds; inspect, if given, checks the output.
func timedCheck(b *testing.B, dir string, env []string, inspect func(string)) float64 {
	b.Helper()
	start := time.Now()
	res := invoke(b, dir, env, "check")
	took := time.Since(start).Seconds()
	if res.code != 0 {
		b.Fatalf("check in %s: exit %d\n%s%s", dir, res.code, res.stdout, res.stderr)
	}
	if inspect != nil {
		inspect(res.stdout + res.stderr)
	}
	return took
}

func appendLine(b *testing.B, path, line string) {
	b.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line); err != nil {
		b.Fatal(err)
	}
}
