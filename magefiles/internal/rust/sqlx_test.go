package rust

import (
	"context"
	"slices"
	"testing"

	"github.com/tasker-systems/tasker-build/magefiles/internal/cache"
	"github.com/tasker-systems/tasker-build/magefiles/internal/session"
	"github.com/tasker-systems/tasker-build/magefiles/internal/testkit"
	"github.com/tasker-systems/tasker-build/magefiles/internal/workspace"
)

// sqlx's macros compile against .sqlx (SQLX_OFFLINE=true) or a live
// database: both are in the keys of every Rust action and of the workers'
// extension builds (which compile tasker-orchestration), so a regenerated
// cache or another SQLX_OFFLINE reruns the checks instead of replaying them.
func TestCacheKeysHoldTheSqlxQueryCache(t *testing.T) {
	testkit.NeedTool(t, "cargo")
	s, _ := dryRun(t)
	for _, sc := range []Scope{Workspace(s), mustCrate(t, s, "orchestration")} {
		sp, err := sc.spec(context.Background(), "lint", nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(sp.Inputs, func(in cache.Input) bool { return in.Path == ".sqlx" }) {
			t.Errorf("%s: inputs lack .sqlx", sp.Name)
		}
		if !slices.Contains(sp.Env, "SQLX_OFFLINE") || !slices.Contains(sp.Env, "SQLX_OFFLINE_DIR") {
			t.Errorf("%s: variables lack SQLX_OFFLINE(_DIR): %v", sp.Name, sp.Env)
		}
	}
	for _, e := range workspace.Extensions {
		if !slices.ContainsFunc(cache.ExtensionInputs(e), func(in cache.Input) bool { return in.Path == ".sqlx" }) {
			t.Errorf("%s's extension build does not read .sqlx", e.Worker)
		}
	}
}

func mustCrate(t *testing.T, s *session.S, key string) Scope {
	t.Helper()
	sc, err := Crate(s, key)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}
