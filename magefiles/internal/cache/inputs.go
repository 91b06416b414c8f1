package cache

import "github.com/tasker-systems/tasker-build/magefiles/internal/workspace"

// RustEnv are the variables that change what rustc produces; every Rust
// action's key holds them. CARGO_HOME and CARGO_TARGET_DIR are left out:
// they differ between machines but not in what is built. SQLX_OFFLINE and
// SQLX_OFFLINE_DIR choose where sqlx's query macros get their types from
// (the .sqlx cache or a live database).
var RustEnv = []string{"RUSTFLAGS", "RUSTDOCFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_BUILD_*", "CARGO_PROFILE_*", "RUSTC_BOOTSTRAP",
	"SQLX_OFFLINE", "SQLX_OFFLINE_DIR"}

// RustConfig are the files that configure cargo, rustc and the Rust tools
// for the whole workspace (a missing one is keyed as missing, so adding it
// reruns the actions), and .sqlx: the query cache sqlx's macros compile
// against, so a regenerated cache reruns the checks.
var RustConfig = []Input{
	{Path: "Cargo.toml"}, {Path: "Cargo.lock"}, {Path: ".cargo"}, {Path: "rust-toolchain.toml"}, {Path: "rust-toolchain"},
	{Path: "rustfmt.toml"}, {Path: ".rustfmt.toml"}, {Path: "clippy.toml"}, {Path: ".clippy.toml"}, {Path: ".sqlx"},
}

// ExtensionInputs are the Rust files a worker's native extension is
// compiled from: the shared crates, the extension crate and the workspace
// configuration.
func ExtensionInputs(ext workspace.Extension) []Input {
	return append([]Input{{Path: "crates", Keep: workspace.RustSource}, {Path: ext.Dir, Keep: workspace.RustSource}}, RustConfig...)
}
