package toolchain

import (
	"context"
	"testing"

	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
)

func TestParseLLVMMajor(t *testing.T) {
	cases := map[string]int{
		"LLVM (http://llvm.org/):\n  LLVM version 19.1.7\n  Optimized build.\n": 19,
		"Homebrew LLVM version 21.1.2\n":                                        21,
		"llvm-profdata: Unknown command!\n":                                     0,
	}
	for out, want := range cases {
		if got := parseLLVMMajor(out); got != want {
			t.Errorf("parseLLVMMajor(%q) = %d, want %d", out, got, want)
		}
	}
}

// LLVM_PROFDATA and LLVM_COV, both set, are taken as they are: the way to
// use an LLVM the search does not know.
func TestFindLLVMToolsHonoursTheVariables(t *testing.T) {
	t.Setenv("LLVM_PROFDATA", "/opt/llvm/bin/llvm-profdata")
	t.Setenv("LLVM_COV", "/opt/llvm/bin/llvm-cov")
	got, err := FindLLVMTools(context.Background(), run.New(run.Options{}), "")
	if err != nil || got.Profdata != "/opt/llvm/bin/llvm-profdata" || got.Cov != "/opt/llvm/bin/llvm-cov" {
		t.Errorf("FindLLVMTools = %+v, %v", got, err)
	}
}
