// Package run is the build system's one command runner. Every child process
// goes through it: argv only (no shell, no $ expansion), an absolute working
// directory, an explicit environment, live output, timing per command, and
// cancellation that signals the child's whole process group (SIGINT, then
// SIGTERM, then SIGKILL) and waits, so nothing is orphaned.
//
// Steps group commands into named tasks. Serial and Parallel run steps with
// fail-fast (the first failure cancels the rest), bounded parallelism, a
// "heavy" slot that keeps two cargo builds from running at once, output
// prefixed with the task name when tasks overlap, GitHub Actions groups, and
// a summary table at the end.
package run

import (
	"context"
	"io"
	"time"
)

// Cmd is one child process.
type Cmd struct {
	Argv []string // program and arguments; Argv[0] is looked up in PATH
	Dir  string   // working directory; must be absolute
	Env  []string // KEY=VALUE pairs layered over the runner's base environment
	// Filter, if set, wraps the output stdout goes to (e.g. to turn cargo's
	// JSON messages into readable text and GitHub annotations); it is
	// closed when the command ends.
	Filter func(io.Writer) io.WriteCloser
}

// Options configure a Runner.
type Options struct {
	Stdout, Stderr io.Writer           // default os.Stdout / os.Stderr
	Env            []string            // base environment for every command (the merged env layer)
	DryRun         bool                // print commands instead of running them
	GitHub         bool                // emit ::group:: / ::endgroup:: per step
	Grace          time.Duration       // wait between SIGINT, SIGTERM and SIGKILL; default 5s
	Jobs           int                 // steps run at once by Parallel; default 2
	KeepGoing      bool                // a failure does not stop the other steps (MAGE_KEEP_GOING)
	Redact         func(string) string // applied to every command line the runner prints
	// InstallHint, if set, gives the install commands for an executable a
	// command needs but the machine lacks ("" when unknown).
	InstallHint func(bin string) string
}

// Step is a named task made of commands (or any Go work).
type Step struct {
	Name  string
	Heavy bool // takes the single heavy slot: cargo builds never overlap
	Do    func(ctx context.Context, r *Runner) error
}

// Status is a step's outcome.
type Status string

const (
	Passed    Status = "ok"
	Failed    Status = "FAILED"
	Skipped   Status = "skipped"
	Cancelled Status = "cancelled"
	// Cached: a success replayed from the action cache (its outputs
	// restored), not run again.
	Cached Status = "cached"
)

// Result records one step for the summary.
type Result struct {
	Name     string
	Status   Status
	Duration time.Duration
	Note     string        // e.g. why a step was skipped
	Saved    time.Duration // a cached step: what its recorded run took
	Err      error
	Depth    int // 0 for a top-level step, 1 for a step inside it, ...
}
