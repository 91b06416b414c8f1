package rust

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// sccache hashes every CARGO_ variable: with it on, an absolute
// CARGO_TARGET_DIR reaches cargo as --target-dir, never through the
// environment, and cargo runs through sccache.
func TestSccacheKeepsTargetDirOutOfCargoEnv(t *testing.T) {
	target := filepath.Join(t.TempDir(), "target")
	s, out := dryRun(t, "TASKER_SCCACHE=1", "TASKER_INSTALL=1", "CARGO_TARGET_DIR="+target)
	ws := Workspace(s)
	if err := s.Run.Serial(context.Background(), ws.Build(), ws.Test(Profile{})); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"cargo build --target-dir " + target + " --color ",
		"cargo nextest run --target-dir " + target + " --color ",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	childEnv := s.Run.Env()
	for _, kv := range childEnv {
		if strings.HasPrefix(kv, "CARGO_TARGET_DIR=") || strings.HasPrefix(kv, "CARGO_TERM_COLOR=") {
			t.Errorf("children get %s; with sccache on it must be a flag", kv)
		}
	}
	if !slices.Contains(childEnv, "RUSTC_WRAPPER=sccache") {
		t.Error("children do not get RUSTC_WRAPPER=sccache")
	}
	if s.TargetDir() != target {
		t.Errorf("TargetDir() = %s, want %s (outputs are still found there)", s.TargetDir(), target)
	}
}
