package toolchain

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/testkit"
)

// With sccache on, a desk run that needs cargo (or maturin) but lacks
// sccache stops with exit 3 and the command that installs it.
func TestNeedingCargoNeedsSccache(t *testing.T) {
	cargo := testkit.NeedTool(t, "cargo")
	in := &Installer{Dir: t.TempDir(), Root: t.TempDir(), Platform: Here(), Sccache: true}
	r := run.New(run.Options{Stdout: io.Discard, Stderr: io.Discard})
	path := filepath.Dir(cargo) // cargo's directory; sccache is not there
	if _, err := LookPath(path, "sccache"); err == nil {
		t.Skipf("sccache is installed next to cargo in %s", path)
	}
	for _, tool := range []string{"cargo", "maturin"} {
		err := in.Need(context.Background(), r, path, tool)
		var f *fail.Error
		if !errors.As(err, &f) || f.Code != fail.MissingTool || !strings.Contains(f.Msg, "missing tool sccache: install with `mage install sccache`") {
			t.Errorf("Need(%s) = %v, want exit 3 naming `mage install sccache`", tool, err)
		}
	}
	in.Sccache = false
	if err := in.Need(context.Background(), r, path, "cargo"); err != nil {
		t.Errorf("without sccache, Need(cargo) = %v", err)
	}
}
