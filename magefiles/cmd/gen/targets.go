package main

// target is one method of a generated namespace.
type target struct {
	Name string // the method: "TestFfi" (mage lists it as testFfi)
	// Call is the method's result; %s is the crate's key, quoted, or the
	// worker's value (python.Worker{}). The functions it calls are written
	// by hand in magefiles/crates.go, rust.go and workers.go.
	Call    string
	Service bool // crates: only for those that run a service
	Help    help
}

// help is one action's help, after the method's name in its doc comment:
// "" for every namespace, a worker's or crate's key where it says more. The
// placeholders in braces are filled from the registries (see vars).
type help map[string]string

// crateTargets are the targets of every crate's namespace.
var crateTargets = []target{
	{Name: "Test", Call: "crate(ctx, %s, testWith(rust.Profile{}))",
		Help: help{"": "runs {package}'s unit tests (integration tests: rust:testIntegration).",
			"client": "runs {package}'s unit tests (its API tests against a running orchestration: client:testIntegration)."}},
	{Name: "Lint", Call: "crate(ctx, %s, rust.Scope.Lint)",
		Help: help{"": "runs clippy on {package} with warnings denied."}},
	{Name: "Check", Call: "crateAll(ctx, %s, rust.Scope.Check)",
		Help: help{"": "runs format, lint and test for {package}."}},
	{Name: "Clean", Call: "crate(ctx, %s, rust.Scope.Clean)",
		Help: help{"": "removes {package}'s build outputs."}},
	{Name: "Run", Service: true, Call: "crate(ctx, %s, runWith(false))",
		Help: help{"": "runs the {service} service in the foreground (debug build); Ctrl-C stops it."}},
	{Name: "RunRelease", Service: true, Call: "crate(ctx, %s, runWith(true))",
		Help: help{"": "runs the {service} service in the foreground (release build)."}},
}

// workerTargets are the targets of every language worker's namespace:
// lang.Worker's actions with the prerequisites workers.go adds.
var workerTargets = []target{
	{Name: "Setup", Call: "work(ctx, %s, lang.Worker.Setup)", Help: help{
		"":           "installs the worker's dependencies from its lock file; skipped when unchanged.",
		"python":     "creates workers/python/.venv with the pinned dev tools (uv if installed, else venv + pip); skipped when unchanged.",
		"ruby":       "resolves the Gemfile against the installed gems (bundle install --local); skipped when unchanged.",
		"typescript": "installs the npm dependencies with npm ci (Bun, Deno, Biome, TypeScript, koffi); skipped when the lockfile did not change.",
	}},
	{Name: "Build", Call: "work(ctx, %s, planned(lang.Worker.Build))", Help: help{
		"":           "builds the native extension where the language loads it; skipped when the Rust sources did not change.",
		"python":     "installs the extension into the venv with maturin develop; skipped when the Rust sources did not change.",
		"ruby":       "compiles the extension with cargo and installs it into lib/; skipped when the Rust sources did not change.",
		"typescript": "compiles the cdylib and the TypeScript for Node; each part skipped when its sources did not change.",
	}},
	{Name: "BuildRelease", Call: "work(ctx, %s, planned(lang.Worker.BuildRelease))", Help: help{
		"":           "builds the native extension with the release profile.",
		"python":     "builds a release wheel into target/wheels.",
		"ruby":       "compiles the extension with the release profile and installs it.",
		"typescript": "compiles the cdylib with the release profile.",
	}},
	{Name: "Check", Call: "work(ctx, %s, lang.WorkerCheck)", Help: help{
		"": "runs format, lint, typecheck and the tests against a fresh build.",
	}},
	{Name: "Clean", Call: "work(ctx, %s, lang.Worker.Clean)", Help: help{
		"":           "removes the extension's build outputs.",
		"python":     "removes the extension's build outputs and the tool caches (the venv stays).",
		"ruby":       "removes the extension's build outputs and the installed copy.",
		"typescript": "removes the cdylib's build outputs and dist/.",
	}},
	{Name: "Coverage", Call: "work(ctx, %s, covered)", Help: help{
		"":           "runs the unit and FFI tests measuring line coverage of the worker's sources into target/coverage/, prints it and checks it against coverage-thresholds.json.",
		"python":     "runs the unit and FFI tests under pytest-cov into target/coverage/python.lcov, prints the line coverage and checks it against coverage-thresholds.json.",
		"ruby":       "runs the unit and FFI specs with Ruby's Coverage module into target/coverage/ruby.lcov, prints the line coverage and checks it against coverage-thresholds.json.",
		"typescript": "measures src/ with Bun's coverage (unit and FFI tests), Deno's for the files only Deno loads, into target/coverage/typescript.lcov, prints the line coverage and checks it against coverage-thresholds.json.",
	}},
	{Name: "Fix", Call: "work(ctx, %s, lang.WorkerFix)", Help: help{
		"": "runs formatFix then lintFix.",
	}},
	{Name: "Format", Call: "work(ctx, %s, planned(lang.Worker.Format))", Help: help{
		"":           "checks formatting.",
		"python":     "checks formatting with ruff format --check.",
		"ruby":       "checks layout with rubocop's Layout cops.",
		"typescript": "checks formatting with biome format.",
	}},
	{Name: "FormatFix", Call: "work(ctx, %s, planned(lang.Worker.FormatFix))", Help: help{
		"":           "formats the sources.",
		"python":     "formats with ruff format.",
		"ruby":       "fixes layout with rubocop --only Layout --autocorrect.",
		"typescript": "formats with biome format --write.",
	}},
	{Name: "Lint", Call: "work(ctx, %s, planned(lang.Worker.Lint))", Help: help{
		"":           "runs the linter and clippy on the extension crate.",
		"python":     "runs ruff check and clippy on the extension crate.",
		"ruby":       "runs rubocop and clippy on the extension crate.",
		"typescript": "runs Biome's linter and clippy on the cdylib.",
	}},
	{Name: "LintFix", Call: "work(ctx, %s, planned(lang.Worker.LintFix))", Help: help{
		"":           "applies the linter's fixes.",
		"python":     "applies ruff's fixes.",
		"ruby":       "applies rubocop --autocorrect.",
		"typescript": "applies Biome's fixes.",
	}},
	{Name: "Run", Call: "work(ctx, %s, loaded(lang.Worker.Run))", Help: help{
		"": "starts the {Namespace} worker in the foreground (health on {portEnv}, default {port}); Ctrl-C stops it.",
	}},
	{Name: "Test", Call: "work(ctx, %s, loaded(lang.Worker.Test))", Help: help{
		"":           "runs the unit and FFI tests.",
		"python":     "runs the unit and FFI tests (pytest).",
		"ruby":       "runs the unit and FFI specs (rspec).",
		"typescript": "runs the unit tests (Bun) and the FFI tests on Bun, Node and Deno; a runtime that is not installed is reported as skipped.",
	}},
	{Name: "TestCi", Call: "work(ctx, %s, loaded(lang.Worker.TestCi))", Help: help{
		"":           "runs the tests with a JUnit report at {report}.",
		"ruby":       "runs the specs with a JUnit report at {report}.",
		"typescript": "runs the tests on every runtime with JUnit, merged into {report}.",
	}},
	{Name: "TestFfi", Call: "work(ctx, %s, loaded(lang.Worker.TestFfi))", Help: help{
		"":           "runs the tests that call into the Rust extension.",
		"ruby":       "runs the specs that call into the Rust extension.",
		"typescript": "runs the FFI tests on every installed runtime.",
	}},
	{Name: "TestIntegration", Call: "integration(ctx, %s)", Help: help{
		"":           "runs {Namespace} handlers through the Rust core against PostgreSQL (a clone of the migrated template).",
		"typescript": "runs TypeScript handlers through the Rust core against PostgreSQL on every runtime (a clone of the migrated template).",
	}},
	{Name: "Typecheck", Call: "work(ctx, %s, planned(lang.Worker.Typecheck))", Help: help{
		"":           "runs the type checker.",
		"python":     "runs mypy (strict).",
		"ruby":       "is reported as skipped: there is no Ruby type checker here.",
		"typescript": "runs tsc --noEmit and deno check.",
	}},
}

// namespace is a worker's namespace: its Go name (mage lists TypeScript as
// typeScript:) and what it holds.
type namespace struct{ Name, About string }

// workerNamespaces are the workers' namespaces; a worker missing here gets
// its key, capitalised, holding "the <key> worker".
var workerNamespaces = map[string]namespace{
	"python":     {"Python", "workers/python (pyo3 extension via maturin, ruff, mypy, pytest)"},
	"ruby":       {"Ruby", "workers/ruby (magnus extension built with cargo, rubocop, rspec; gems from the system)"},
	"typescript": {"TypeScript", "workers/typescript (C ABI cdylib on Bun, Node via koffi and Deno; Biome, tsc)"},
}
