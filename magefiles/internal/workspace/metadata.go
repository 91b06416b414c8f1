package workspace

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
)

// Metadata is what the build reads of `cargo metadata --no-deps
// --format-version 1`: the workspace's members.
type Metadata struct {
	WorkspaceRoot string    `json:"workspace_root"`
	Packages      []Package `json:"packages"`
}

// Package is one member of the Cargo workspace.
type Package struct {
	Name         string       `json:"name"`
	Description  string       `json:"description"`
	ManifestPath string       `json:"manifest_path"`
	Targets      []Target     `json:"targets"`
	Dependencies []Dependency `json:"dependencies"`
}

// Target is a package's library, binary, test... ("lib", "bin", "cdylib").
type Target struct {
	Name string   `json:"name"`
	Kind []string `json:"kind"`
}

// Dependency is one dependency of a package; Path is set for a workspace
// member (a path dependency).
type Dependency struct {
	Name string `json:"name"`
	Path string `json:"path"`
}

// ReadMetadata parses cargo metadata's output.
func ReadMetadata(data []byte) (Metadata, error) {
	var m Metadata
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("reading cargo metadata: %w", err)
	}
	return m, nil
}

// Dir is p's directory relative to root, slash-separated.
func (p Package) Dir(root string) (string, error) {
	rel, err := filepath.Rel(root, filepath.Dir(p.ManifestPath))
	return filepath.ToSlash(rel), err
}

// Target is the name of p's target of kind ("bin", "cdylib"), or "".
func (p Package) Target(kind string) string {
	for _, t := range p.Targets {
		if slices.Contains(t.Kind, kind) {
			return t.Name
		}
	}
	return ""
}

// WorkspaceDeps are the workspace members p depends on.
func (p Package) WorkspaceDeps() []string {
	var out []string
	for _, d := range p.Dependencies {
		if d.Path != "" {
			out = append(out, d.Name)
		}
	}
	return out
}
