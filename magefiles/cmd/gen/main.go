// Command gen writes the Go that follows from the repository's registries,
// so that each fact is written once:
//
//   - workspace.Crates, from `cargo metadata` (see readCrates);
//   - the mage namespace of every crate and of every language worker in
//     workspace.Extensions, and the list of workers the root aggregates fan
//     out to, from the target tables in targets.go.
//
// mage reads only methods declared on a namespace type in the magefiles
// package (no embedding, no generics), so the repeated namespaces must be
// source. Run `go generate ./...` after adding a crate or a worker; the
// package's test fails while the committed files are stale.
package main

//go:generate go run .

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tasker-systems/tasker-build/magefiles/internal/workspace"
)

// The generated files, relative to the repository root.
const (
	cratesFile  = "magefiles/internal/workspace/zz_generated_crates.go"
	targetsFile = "magefiles/zz_generated_targets.go"
)

func main() {
	if err := write(); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func write() error {
	root, err := workspace.FindRoot(".")
	if err != nil {
		return err
	}
	meta, err := cargoMetadata(root)
	if err != nil {
		return err
	}
	files, err := generate(meta)
	if err != nil {
		return err
	}
	for rel, src := range files {
		p := filepath.Join(root, rel)
		if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, src) {
			continue
		}
		if err := os.WriteFile(p, src, 0o644); err != nil {
			return err
		}
		fmt.Println("gen: wrote", rel)
	}
	return nil
}

// generate makes every generated file from cargo metadata's output and the
// registries.
func generate(meta []byte) (map[string][]byte, error) {
	crates, err := readCrates(meta)
	if err != nil {
		return nil, err
	}
	cratesSrc, err := cratesSource(crates)
	if err != nil {
		return nil, err
	}
	targetsSrc, err := targetsSource(crates)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{cratesFile: cratesSrc, targetsFile: targetsSrc}, nil
}
