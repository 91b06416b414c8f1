package toolchain

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
)

// MinLLVM is the oldest LLVM whose llvm-profdata reads the raw profiles
// rustc writes (raw profile format version 10, new in LLVM 19). Measured
// with rustc 1.95 (LLVM 22): Debian 12's LLVM 19 merges and exports its
// profiles byte for byte as LLVM 22 does; LLVM 14 answers "unsupported
// instrumentation profile format version".
const MinLLVM = 19

// llvmDirGlobs are where distributions keep versioned LLVM installs that
// are not on PATH (Debian and Ubuntu's llvm-N, Homebrew's keg-only llvm).
var llvmDirGlobs = []string{
	"/usr/lib/llvm-*/bin",
	"/usr/lib64/llvm*/bin",
	"/opt/homebrew/opt/llvm/bin",
	"/opt/homebrew/opt/llvm@*/bin",
	"/usr/local/opt/llvm/bin",
	"/usr/local/opt/llvm@*/bin",
}

// LLVMTools are the llvm-profdata and llvm-cov that Rust coverage uses.
type LLVMTools struct {
	Profdata, Cov string
	Major         int    // LLVM's major version (0: not probed, LLVM_PROFDATA given)
	From          string // where they were found
}

// FindLLVMTools finds llvm-profdata and llvm-cov for cargo-llvm-cov, best
// first: LLVM_PROFDATA and LLVM_COV when both are set; the rustup
// component llvm-tools-preview (rustc's own LLVM); else the newest LLVM of
// at least MinLLVM in the distribution's directories or on pathEnv.
func FindLLVMTools(ctx context.Context, r *run.Runner, pathEnv string) (LLVMTools, error) {
	if p, c := os.Getenv("LLVM_PROFDATA"), os.Getenv("LLVM_COV"); p != "" && c != "" {
		return LLVMTools{Profdata: p, Cov: c, From: "LLVM_PROFDATA and LLVM_COV"}, nil
	}
	if t, ok := rustupLLVMTools(ctx, r, pathEnv); ok {
		return t, nil
	}
	var dirs []string
	for _, g := range llvmDirGlobs {
		m, _ := filepath.Glob(g)
		dirs = append(dirs, m...)
	}
	if p, err := LookPath(pathEnv, "llvm-profdata"); err == nil {
		dirs = append(dirs, filepath.Dir(p))
	}
	var best LLVMTools
	var seen []string
	for _, d := range dirs {
		profdata, cov := filepath.Join(d, exe("llvm-profdata", Here())), filepath.Join(d, exe("llvm-cov", Here()))
		if !fileExists(profdata) || !fileExists(cov) {
			continue
		}
		major := llvmMajor(ctx, r, profdata)
		seen = append(seen, fmt.Sprintf("%s (LLVM %d)", d, major))
		if major >= MinLLVM && major > best.Major {
			best = LLVMTools{Profdata: profdata, Cov: cov, Major: major, From: d}
		}
	}
	if best.Profdata != "" {
		return best, nil
	}
	msg := fmt.Sprintf("no llvm-profdata and llvm-cov of LLVM %d or newer", MinLLVM)
	if len(seen) > 0 {
		msg += "; found only " + strings.Join(seen, ", ")
	}
	return LLVMTools{}, errors.New(msg)
}

// rustupLLVMTools finds the llvm-tools-preview component in rustc's
// sysroot (cargo-llvm-cov's own first choice).
func rustupLLVMTools(ctx context.Context, r *run.Runner, pathEnv string) (LLVMTools, bool) {
	rustc, err := LookPath(pathEnv, "rustc")
	if err != nil {
		return LLVMTools{}, false
	}
	sysroot, err := r.Output(ctx, run.Cmd{Argv: []string{rustc, "--print", "sysroot"}, Dir: os.TempDir()})
	if err != nil {
		return LLVMTools{}, false
	}
	matches, _ := filepath.Glob(filepath.Join(strings.TrimSpace(sysroot), "lib", "rustlib", "*", "bin", exe("llvm-profdata", Here())))
	for _, p := range matches {
		cov := filepath.Join(filepath.Dir(p), exe("llvm-cov", Here()))
		if fileExists(cov) {
			return LLVMTools{Profdata: p, Cov: cov, From: "rustup component llvm-tools-preview"}, true
		}
	}
	return LLVMTools{}, false
}

var llvmVersionRE = regexp.MustCompile(`LLVM version (\d+)\.`)

// llvmMajor is the LLVM major version llvm-profdata reports (0 when it
// does not run or says none).
func llvmMajor(ctx context.Context, r *run.Runner, profdata string) int {
	out, err := r.Output(ctx, run.Cmd{Argv: []string{profdata, "--version"}, Dir: os.TempDir()})
	if err != nil {
		return 0
	}
	return parseLLVMMajor(out)
}

func parseLLVMMajor(out string) int {
	m := llvmVersionRE.FindStringSubmatch(out)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// locateLLVMTools is the llvm-tools entry's Locate: llvm-profdata's path.
func locateLLVMTools(ctx context.Context, r *run.Runner, pathEnv string) (string, error) {
	t, err := FindLLVMTools(ctx, r, pathEnv)
	return t.Profdata, err
}

// llvmApt is Debian's newest LLVM at or after MinLLVM in the release this
// project targets (Debian 12 ships llvm-19; Debian 13 and Ubuntu 24.04 too).
var llvmApt = []string{"llvm-" + strconv.Itoa(MinLLVM)}
