package toolchain

import (
	"os"
	"runtime"
	"strings"
)

// Hint holds the exact commands that install a tool, per package manager.
type Hint struct {
	Apt, Brew               string // system package managers
	Cargo, Pip, Npm, Rustup string // language registries, preferred everywhere
	Other                   string // a generic alternative (installer script, gem)
}

// For returns the best install command for a platform: the language-registry
// commands when there are any, otherwise apt on Debian-likes (hasApt) or
// brew on darwin; Other is always offered as an alternative. Alternatives
// are joined with " or ". When nothing fits the platform, every known
// command is offered.
func (h Hint) For(goos string, hasApt bool) string {
	return strings.Join(h.alternatives(goos, hasApt), " or ")
}

// alternatives are For's commands, best first.
func (h Hint) alternatives(goos string, hasApt bool) []string {
	alts := nonEmpty(h.Rustup, h.Cargo, h.Pip, h.Npm)
	if len(alts) == 0 {
		switch {
		case hasApt:
			alts = nonEmpty(h.Apt)
		case goos == "darwin":
			alts = nonEmpty(h.Brew)
		}
	}
	alts = append(alts, nonEmpty(h.Other)...)
	if len(alts) == 0 {
		alts = nonEmpty(h.Apt, h.Brew)
	}
	return alts
}

// Install is For for the machine we run on, each command in backticks:
// "`sudo apt install ruby-rspec` or `gem install rspec`".
func (h Hint) Install() string {
	alts := h.alternatives(runtime.GOOS, debianLike())
	for i, a := range alts {
		alts[i] = "`" + a + "`"
	}
	return strings.Join(alts, " or ")
}

// debianLike reports whether apt is the system package manager.
func debianLike() bool {
	_, err := os.Stat("/etc/debian_version")
	return err == nil
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
