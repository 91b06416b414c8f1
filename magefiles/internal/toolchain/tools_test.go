package toolchain

import (
	"slices"
	"testing"
)

func TestRegistryIsWellFormed(t *testing.T) {
	areas := []string{"rust", "python", "ruby", "typescript", "db"}
	seen := map[string]bool{}
	for _, tool := range Tools {
		if tool.Name == "" || (tool.Bin == "") == (tool.Locate == nil) || (tool.Bin != "" && len(tool.VersionArgs) == 0) || seen[tool.Name] {
			t.Errorf("bad or duplicate tool %+v", tool)
		}
		seen[tool.Name] = true
		if !slices.Contains(areas, tool.Area) {
			t.Errorf("%s: unknown area %q", tool.Name, tool.Area)
		}
		for _, p := range []Platform{{GOOS: "linux", GOARCH: "amd64", PM: "apt"}, {GOOS: "darwin", GOARCH: "arm64", PM: "brew"}} {
			if len(tool.Source.Commands(tool.Name, p)) == 0 {
				t.Errorf("%s: no install command on %s", tool.Name, p.GOOS)
			}
		}
	}
}

func TestFind(t *testing.T) {
	cases := []struct{ name, bin string }{{"clippy", "cargo-clippy"}, {"bundler", "bundle"}, {"psql", "psql"}}
	for _, c := range cases {
		if tool, ok := Find(c.name); !ok || tool.Bin != c.bin {
			t.Errorf("Find(%q) = %+v, %v", c.name, tool, ok)
		}
	}
	if _, ok := Find("nope"); ok {
		t.Error("found an unregistered tool")
	}
}
