package toolchain

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
)

// libclangGlobs are where distributions keep libclang, the library bindgen
// loads (clang-sys's own search list, minus what this project never meets).
var libclangGlobs = []string{
	"/usr/lib/llvm-*/lib/libclang.so*",
	"/usr/lib/llvm-*/lib/libclang-*.so*",
	"/usr/lib/*-linux-gnu/libclang.so*",
	"/usr/lib/*-linux-gnu/libclang-*.so*",
	"/usr/lib64/libclang.so*",
	"/opt/homebrew/opt/llvm/lib/libclang.dylib",
	"/usr/local/opt/llvm/lib/libclang.dylib",
	"/Library/Developer/CommandLineTools/usr/lib/libclang.dylib",
	"/Applications/Xcode.app/Contents/Developer/Toolchains/XcodeDefault.xctoolchain/usr/lib/libclang.dylib",
}

// locateLibclang finds libclang ($LIBCLANG_PATH first, as bindgen does).
func locateLibclang(_ context.Context, _ *run.Runner, _ string) (string, error) {
	globs := libclangGlobs
	if dir := os.Getenv("LIBCLANG_PATH"); dir != "" {
		globs = append([]string{filepath.Join(dir, "libclang*")}, globs...)
	}
	for _, g := range globs {
		matches, _ := filepath.Glob(g)
		for _, m := range matches {
			if !strings.Contains(filepath.Base(m), "libclang-cpp") {
				return m, nil
			}
		}
	}
	return "", errors.New("libclang not found")
}

// locateRubyHeaders finds ruby.h for the ruby on pathEnv (the extension
// compiles against it).
func locateRubyHeaders(ctx context.Context, r *run.Runner, pathEnv string) (string, error) {
	ruby, err := LookPath(pathEnv, "ruby")
	if err != nil {
		return "", errors.New("ruby is not installed")
	}
	h, err := r.Output(ctx, run.Cmd{Argv: []string{ruby, "-rrbconfig", "-e", `print File.join(RbConfig::CONFIG["rubyhdrdir"], "ruby.h")`}, Dir: os.TempDir()})
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(h); err != nil {
		return "", fmt.Errorf("no %s", h)
	}
	return h, nil
}

// locatePythonVenv checks that python3 can make virtualenvs (Debian splits
// venv and ensurepip into python3-venv).
func locatePythonVenv(ctx context.Context, r *run.Runner, pathEnv string) (string, error) {
	py, err := LookPath(pathEnv, "python3")
	if err != nil {
		return "", errors.New("python3 is not installed")
	}
	c := run.Cmd{Argv: []string{py, "-c", "import venv, ensurepip"}, Dir: os.TempDir(), Env: []string{"PATH=" + pathEnv}}
	if _, err := r.Output(ctx, c); err != nil {
		return "", errors.New("python3 cannot make virtualenvs")
	}
	return py, nil
}

// locateNginx finds nginx on PATH or in the sbin directories, where
// distributions install it and which a normal user's PATH lacks.
func locateNginx(_ context.Context, _ *run.Runner, pathEnv string) (string, error) {
	sep := string(os.PathListSeparator)
	return LookPath(pathEnv+sep+"/usr/sbin"+sep+"/usr/local/sbin"+sep+"/opt/homebrew/bin", "nginx")
}
