package toolchain

// Tool is one program the build system may run.
type Tool struct {
	Name        string   // what targets and `mage doctor` call it
	Bin         string   // executable looked up with LookPath
	VersionArgs []string // arguments that print the version on stdout
	Area        string   // rust, python, ruby, typescript or db
	Hint        Hint
	Optional    bool   // missing is fine
	Degraded    string // what happens without it (missing is then not fatal)
}

var version = []string{"--version"}

// Tools is the registry of every tool, grouped by area.
var Tools = []Tool{
	{Name: "cargo", Bin: "cargo", VersionArgs: version, Area: "rust",
		Hint: Hint{Brew: "brew install rustup", Other: "curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh"}},
	{Name: "rustfmt", Bin: "rustfmt", VersionArgs: version, Area: "rust",
		Hint: Hint{Rustup: "rustup component add rustfmt"}},
	{Name: "clippy", Bin: "cargo-clippy", VersionArgs: version, Area: "rust",
		Hint: Hint{Rustup: "rustup component add clippy"}},
	{Name: "cargo-nextest", Bin: "cargo-nextest", VersionArgs: []string{"nextest", "--version"}, Area: "rust",
		Hint: Hint{Cargo: "cargo install cargo-nextest --locked"}, Degraded: "rust tests fall back to `cargo test`"},
	{Name: "cargo-audit", Bin: "cargo-audit", VersionArgs: []string{"audit", "--version"}, Area: "rust",
		Hint: Hint{Cargo: "cargo install cargo-audit --locked"}, Optional: true},

	{Name: "uv", Bin: "uv", VersionArgs: version, Area: "python",
		Hint: Hint{Pip: "pip install uv"}, Optional: true, Degraded: "python environments are made with venv and pip"},
	{Name: "python3", Bin: "python3", VersionArgs: version, Area: "python",
		Hint: Hint{Apt: "sudo apt install python3 python3-venv", Brew: "brew install python"}},
	{Name: "maturin", Bin: "maturin", VersionArgs: version, Area: "python", Hint: Hint{Pip: "pip install maturin"}},
	{Name: "ruff", Bin: "ruff", VersionArgs: version, Area: "python", Hint: Hint{Pip: "pip install ruff"}},
	{Name: "mypy", Bin: "mypy", VersionArgs: version, Area: "python", Hint: Hint{Pip: "pip install mypy"}},
	{Name: "pytest", Bin: "pytest", VersionArgs: version, Area: "python", Hint: Hint{Pip: "pip install pytest"}},

	{Name: "ruby", Bin: "ruby", VersionArgs: version, Area: "ruby",
		Hint: Hint{Apt: "sudo apt install ruby ruby-dev", Brew: "brew install ruby"}},
	{Name: "bundler", Bin: "bundle", VersionArgs: version, Area: "ruby",
		Hint: Hint{Apt: "sudo apt install bundler", Other: "gem install bundler"}},
	{Name: "rspec", Bin: "rspec", VersionArgs: version, Area: "ruby",
		Hint: Hint{Apt: "sudo apt install ruby-rspec", Other: "gem install rspec"}},
	{Name: "rubocop", Bin: "rubocop", VersionArgs: version, Area: "ruby",
		Hint: Hint{Apt: "sudo apt install rubocop", Other: "gem install rubocop"}},

	{Name: "node", Bin: "node", VersionArgs: version, Area: "typescript",
		Hint: Hint{Apt: "sudo apt install nodejs", Brew: "brew install node"}},
	{Name: "npm", Bin: "npm", VersionArgs: version, Area: "typescript",
		Hint: Hint{Apt: "sudo apt install npm", Brew: "brew install node"}},
	{Name: "bun", Bin: "bun", VersionArgs: version, Area: "typescript", Hint: Hint{Npm: "npm install -g bun"}},
	{Name: "deno", Bin: "deno", VersionArgs: version, Area: "typescript",
		Hint: Hint{Npm: "npm install -g deno"}, Optional: true},
	// biome and tsc normally run from the worker's node_modules.
	{Name: "biome", Bin: "biome", VersionArgs: version, Area: "typescript",
		Hint: Hint{Npm: "npm install -g @biomejs/biome"}, Optional: true},
	{Name: "tsc", Bin: "tsc", VersionArgs: version, Area: "typescript",
		Hint: Hint{Npm: "npm install -g typescript"}, Optional: true},

	{Name: "initdb", Bin: "initdb", VersionArgs: version, Area: "db", Hint: postgresServer},
	{Name: "pg_ctl", Bin: "pg_ctl", VersionArgs: version, Area: "db", Hint: postgresServer},
	{Name: "postgres", Bin: "postgres", VersionArgs: version, Area: "db", Hint: postgresServer},
	{Name: "psql", Bin: "psql", VersionArgs: version, Area: "db",
		Hint: Hint{Apt: "sudo apt install postgresql-client", Brew: "brew install postgresql@15"}},
}

var postgresServer = Hint{Apt: "sudo apt install postgresql", Brew: "brew install postgresql@15"}

// Find returns the registered tool called name.
func Find(name string) (Tool, bool) {
	for _, t := range Tools {
		if t.Name == name {
			return t, true
		}
	}
	return Tool{}, false
}
