package env

import (
	"bytes"
	"strings"
	"testing"
)

func TestPrint(t *testing.T) {
	root := t.TempDir()
	write(t, root, ".env", "DATABASE_URL=postgresql://tasker:s3cr3t-pw@db:5432/x\nZZ_EXTRA=from-file\nAPI_KEY=k-abcdef\n")
	write(t, root, ".env.local", "LOCAL_ONLY=1\nAPP_PASSWORD=hunter22\n")
	e, err := Load(root, []string{"PATH=/bin", "ZZ_EXTRA=overridden", "GITHUB_TOKEN=ghp_abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	Print(&buf, e)
	out := buf.String()
	for _, secret := range []string{"s3cr3t-pw", "k-abcdef", "hunter22", "ghp_abcdef"} {
		if strings.Contains(out, secret) {
			t.Errorf("output shows %q:\n%s", secret, out)
		}
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if got := len(lines); got != 1+len(Known)+4 {
		t.Fatalf("%d lines, want header + %d known + 4 from files:\n%s", got, len(Known), out)
	}
	wantRows := [][]string{
		{"KEY", "VALUE", "SOURCE"},
		{"DATABASE_URL", "postgresql://tasker:***@db:5432/x", ".env"},
		{"TASKER_ENV", "test", "default"},
	}
	for i, w := range wantRows {
		if got := strings.Fields(lines[i]); strings.Join(got, " ") != strings.Join(w, " ") {
			t.Errorf("line %d: got %q, want %q", i, got, w)
		}
	}
	for _, w := range []string{"ORCHESTRATION_PORT (default 8080) unset", "ZZ_EXTRA overridden process", "API_KEY *** .env", "LOCAL_ONLY 1 .env.local", "APP_PASSWORD *** .env.local"} {
		if !containsRow(lines, w) {
			t.Errorf("output lacks row %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "PATH") || strings.Contains(out, "GITHUB_TOKEN") {
		t.Errorf("process-only variables printed:\n%s", out)
	}
	// Columns are aligned: SOURCE starts at the same offset on every line.
	col := strings.Index(lines[0], "SOURCE")
	for _, l := range lines[1:] {
		if l[col-2:col] != "  " || l[col] == ' ' {
			t.Errorf("misaligned: %q", l)
		}
	}
}

// containsRow reports whether one of lines has the space-separated fields of row.
func containsRow(lines []string, row string) bool {
	for _, l := range lines {
		if strings.Join(strings.Fields(l), " ") == row {
			return true
		}
	}
	return false
}
