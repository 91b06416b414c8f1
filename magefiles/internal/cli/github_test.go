package cli

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Under GitHub Actions a failing run prints log groups, annotations at the
// failing file and line (from clippy's JSON messages and from the JUnit
// report), and appends the summary table to $GITHUB_STEP_SUMMARY.
func TestGitHubActionsOutput(t *testing.T) {
	summary := filepath.Join(t.TempDir(), "summary.md")
	gh := []string{"GITHUB_ACTIONS=true", "GITHUB_STEP_SUMMARY=" + summary}

	t.Run("clippy", func(t *testing.T) {
		src := filepath.Join(root, "workers", "rust", "src", "handlers.rs")
		orig, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.WriteFile(src, orig, 0o644) })
		lines := strings.Count(string(orig), "\n")
		if err := os.WriteFile(src, append(orig, []byte("\nfn deliberately_unused() {}\n")...), 0o644); err != nil {
			t.Fatal(err)
		}
		res := invoke(t, root, gh, "rustWorker:lint")
		res.expect(t, 1, "::group::rustWorker:lint", "::endgroup::",
			"::error file=workers/rust/src/handlers.rs,line="+strconv.Itoa(lines+2)+",col=4,title=dead_code::function `deliberately_unused` is never used")
	})

	t.Run("pytest", func(t *testing.T) {
		test := filepath.Join(root, "workers", "python", "tests", "unit", "test_zz_github.py")
		if err := os.WriteFile(test, []byte("def test_annotated() -> None:\n    assert 1 + 1 == 3\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(test) })
		res := invoke(t, root, gh, "python:testCi")
		res.expect(t, 1, "::group::python:testCi",
			"::error file=workers/python/tests/unit/test_zz_github.py,line=1,title=test failed::tests.unit.test_zz_github::test_annotated failed")
	})

	md, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| task | result | duration | note |", "| python:testCi | ❌ FAILED |"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("step summary lacks %q:\n%s", want, md)
		}
	}
}
