package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tasker-systems/tasker-build/magefiles/internal/testkit"
)

// A failing test in a worker's suite makes <worker>:testCi exit 1 naming
// the test (and, for TypeScript, the runtime), and the JUnit report lists
// it as failed. Each case adds a deliberately failing test for the run.
func TestWorkerTestFailureIsNamedAndReported(t *testing.T) {
	cases := []struct {
		worker, file, source string
		wants                []string
	}{
		{"python", "workers/python/tests/unit/test_zz_deliberate_failure.py",
			"def test_deliberate_failure() -> None:\n    assert 1 + 1 == 3\n",
			[]string{"test_deliberate_failure"}},
		{"ruby", "workers/ruby/spec/unit/zz_deliberate_failure_spec.rb",
			"# frozen_string_literal: true\n\nRSpec.describe 'Deliberate' do\n  it 'fails on purpose' do\n    expect(1 + 1).to eq(3)\n  end\nend\n",
			[]string{"fails on purpose"}},
		{"typescript", "workers/typescript/test/unit/zz-deliberate-failure.test.ts",
			"import { expect, test } from \"bun:test\";\n\ntest(\"deliberate failure\", () => {\n  expect(1 + 1).toBe(3);\n});\n",
			[]string{"bun:", "deliberate failure"}},
	}
	for _, c := range cases {
		t.Run(c.worker, func(t *testing.T) {
			if c.worker == "ruby" {
				testkit.NeedTool(t, "ruby")
			}
			path := filepath.Join(root, c.file)
			if err := os.WriteFile(path, []byte(c.source), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Remove(path) })
			res := invoke(t, root, nil, c.worker+":testCi")
			res.expect(t, 1, append([]string{"failed: "}, c.wants...)...)
			report, err := os.ReadFile(filepath.Join(root, "target", c.worker+"-framework-results.xml"))
			if err != nil {
				t.Fatal(err)
			}
			name := c.wants[len(c.wants)-1]
			if !strings.Contains(string(report), name) || !strings.Contains(string(report), "<failure") {
				t.Fatalf("the JUnit report does not list %q as failed:\n%s", name, report)
			}
		})
	}
}
