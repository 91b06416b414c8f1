package session

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/tasker-systems/tasker-build/magefiles/internal/env"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
)

// SccacheEnabled reports whether Rust compiles go through sccache:
// TASKER_SCCACHE is true, or a backend (SCCACHE_DIR, SCCACHE_REDIS_ENDPOINT)
// is configured.
func SccacheEnabled(e *env.Env) bool {
	return env.Bool(e, "TASKER_SCCACHE") || e.Get("SCCACHE_DIR") != "" || e.Get("SCCACHE_REDIS_ENDPOINT") != ""
}

// flagVars reach cargo as flags instead of environment while sccache is on:
// sccache hashes every CARGO_ variable into its keys, so a value that differs
// between machines (an absolute CARGO_TARGET_DIR, colour off under NO_COLOR)
// would miss every entry another machine wrote.
var flagVars = []string{"CARGO_TARGET_DIR", "CARGO_TERM_COLOR"}

// useSccache makes children compile through sccache and returns their
// environment without flagVars.
func (s *S) useSccache() []string {
	s.Tools.Sccache = true
	s.sccache = &sccacheRun{}
	s.Env.Set("RUSTC_WRAPPER", "sccache")
	// sccache cannot cache incremental compiles (the workspace's own crates
	// in the dev profile); the same value on every machine keeps keys equal.
	if _, set := s.Env.Lookup("CARGO_INCREMENTAL"); !set {
		s.Env.Set("CARGO_INCREMENTAL", "0")
	}
	if dir := s.Env.Get("CARGO_TARGET_DIR"); dir != "" {
		s.cargoFlags = append(s.cargoFlags, "--target-dir", s.TargetDir())
	}
	if color := s.Env.Get("CARGO_TERM_COLOR"); color != "" {
		s.cargoFlags = append(s.cargoFlags, "--color", color)
	}
	return slices.DeleteFunc(s.Env.Environ(), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return slices.Contains(flagVars, k)
	})
}

// compiles are the cargo subcommands that take --target-dir and --color.
var compiles = []string{"build", "check", "clippy", "test", "doc", "run", "rustc", "bench", "clean", "fix"}

// withCargoFlags adds the session's cargo flags to a cargo (or maturin)
// command after its subcommand: `cargo build -p x` becomes
// `cargo build --target-dir T --color always -p x`.
func (s *S) withCargoFlags(argv []string) []string {
	if len(s.cargoFlags) == 0 || len(argv) < 2 {
		return argv
	}
	at := 0
	switch {
	case argv[0] == "cargo" && argv[1] == "nextest":
		// nextest's cargo options follow its own subcommand; a run from an
		// archive compiles nothing and takes none.
		if len(argv) > 2 && !slices.Contains(argv, "--archive-file") {
			at = 3
		}
	case argv[0] == "cargo" && slices.Contains(compiles, argv[1]),
		argv[0] == "maturin" && (argv[1] == "develop" || argv[1] == "build"):
		at = 2
	}
	if at == 0 {
		return argv
	}
	return slices.Concat(argv[:at], s.cargoFlags, argv[at:])
}

// sccacheRun holds the statistics when the session's first compile step
// started, so the summary can show what this session hit.
type sccacheRun struct {
	once  sync.Once
	start *sccacheStats
}

// sccacheStats is the part of `sccache --show-stats --stats-format=json`
// the summary shows.
type sccacheStats struct {
	Stats struct {
		Hits   struct{ Counts map[string]int } `json:"cache_hits"`
		Misses struct{ Counts map[string]int } `json:"cache_misses"`
		// binaries, proc macros, tests: compiled every time
		NotCacheable int `json:"requests_not_cacheable"`
	}
	Location string `json:"cache_location"`
}

func sum(counts map[string]int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

// readSccache asks the sccache server (starting it if needed) for its
// statistics.
func (s *S) readSccache(ctx context.Context, r *run.Runner) (*sccacheStats, error) {
	out, err := r.Output(ctx, s.Cmd(".", "sccache", "--show-stats", "--stats-format=json"))
	if err != nil {
		return nil, err
	}
	var st sccacheStats
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return nil, fmt.Errorf("sccache --show-stats: %w", err)
	}
	return &st, nil
}

// compilesNeeded records the statistics before the first step that needs a
// compiler; unreadable statistics only mean no hit rate in the summary.
func (s *S) compilesNeeded(ctx context.Context, r *run.Runner, tools []string) {
	if s.sccache == nil || r.DryRun() || !(slices.Contains(tools, "cargo") || slices.Contains(tools, "maturin")) {
		return
	}
	s.sccache.once.Do(func() {
		st, err := s.readSccache(ctx, r)
		if err != nil {
			r.Warnf("no sccache hit rate for this run: %v", err)
			return
		}
		s.sccache.start = st
	})
}

// sccacheLine is the summary's hit-rate line, "" when nothing compiled
// through sccache or its statistics cannot be read.
func (s *S) sccacheLine(ctx context.Context) string {
	if s.sccache == nil || s.sccache.start == nil {
		return ""
	}
	end, err := s.readSccache(ctx, s.Run)
	if err != nil {
		s.Run.Warnf("no sccache hit rate for this run: %v", err)
		return ""
	}
	return hitRate(s.sccache.start, end)
}

// hitRate describes the compiles between two statistics: "sccache: 412 of
// 430 compiles hit (95.8%), 60 not cacheable, local disk".
func hitRate(start, end *sccacheStats) string {
	hits := sum(end.Stats.Hits.Counts) - sum(start.Stats.Hits.Counts)
	total := hits + sum(end.Stats.Misses.Counts) - sum(start.Stats.Misses.Counts)
	if total <= 0 {
		return ""
	}
	// "Local disk: \"/path\"", "Redis, name: redis://…": the kind of backend
	where := strings.ToLower(strings.TrimSpace(end.Location[:strings.IndexAny(end.Location+":", ":,")]))
	line := fmt.Sprintf("sccache: %d of %d compiles hit (%.1f%%), ", hits, total, 100*float64(hits)/float64(total))
	if n := end.Stats.NotCacheable - start.Stats.NotCacheable; n > 0 {
		line += fmt.Sprintf("%d not cacheable, ", n)
	}
	return line + where
}
