// Package annotate turns tool output into GitHub annotations (rendered by
// package gha), so failures show on the pull request's diff: compiler
// diagnostics from cargo's JSON messages and failed tests from JUnit
// reports.
package annotate

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/tasker-systems/tasker-build/magefiles/internal/gha"
	"github.com/tasker-systems/tasker-build/magefiles/internal/junit"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
)

// cargoMessage is the part of a cargo JSON message we read.
type cargoMessage struct {
	Reason  string `json:"reason"`
	Message *struct {
		Message  string `json:"message"`
		Level    string `json:"level"`
		Rendered string `json:"rendered"`
		Code     *struct {
			Code string `json:"code"`
		} `json:"code"`
		Spans []struct {
			File      string `json:"file_name"`
			Line      int    `json:"line_start"`
			Col       int    `json:"column_start"`
			IsPrimary bool   `json:"is_primary"`
		} `json:"spans"`
	} `json:"message"`
}

// FromCargo reads one line of `cargo --message-format=json…` output. It
// returns what to print for a person (the rendered diagnostic, or the line
// itself when it is not JSON; nothing for other JSON messages) and the
// annotation for an error or warning with a primary span.
func FromCargo(line string) (show string, a *gha.Annotation) {
	if !strings.HasPrefix(line, "{") {
		return line, nil
	}
	var m cargoMessage
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		return line, nil
	}
	if m.Reason != "compiler-message" || m.Message == nil {
		return "", nil
	}
	d := m.Message
	show = strings.TrimRight(d.Rendered, "\n")
	if d.Level != "error" && d.Level != "warning" {
		return show, nil
	}
	for _, sp := range d.Spans {
		if !sp.IsPrimary {
			continue
		}
		title := d.Level
		if d.Code != nil && d.Code.Code != "" {
			title = d.Code.Code
		}
		return show, &gha.Annotation{Level: d.Level, File: filepath.ToSlash(sp.File), Line: sp.Line, Col: sp.Col, Title: title, Message: d.Message}
	}
	return show, nil
}

// Cargo wraps w: cargo's JSON lines written to it come out as rendered
// diagnostics followed by their annotations. Close flushes a last
// unterminated line.
func Cargo(w io.Writer) io.WriteCloser {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
		for sc.Scan() {
			show, a := FromCargo(sc.Text())
			if show != "" {
				fmt.Fprintln(w, show)
			}
			if a != nil {
				fmt.Fprintln(w, a)
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	return &closer{pw: pw, done: done}
}

type closer struct {
	pw   *io.PipeWriter
	done chan struct{}
}

func (c *closer) Write(p []byte) (int, error) { return c.pw.Write(p) }

func (c *closer) Close() error {
	err := c.pw.Close()
	<-c.done
	return err
}

// CargoCmd switches a cargo command (`cargo clippy …`, `cargo build …`) to
// JSON messages filtered through Cargo when github is set; otherwise it
// returns c unchanged.
func CargoCmd(c run.Cmd, github bool) run.Cmd {
	if !github || len(c.Argv) < 2 {
		return c
	}
	argv := append([]string{c.Argv[0], c.Argv[1], "--message-format=json-diagnostic-rendered-ansi"}, c.Argv[2:]...)
	c.Argv = argv
	c.Filter = Cargo
	return c
}

// Tests makes an error annotation for each failed test case. dir is the
// directory the runner reported paths against (relative to the root);
// absolute paths under root are made relative. zeroBased says the runner
// counts lines from 0 (pytest); annotations count from 1.
func Tests(cases []junit.Case, root, dir string, zeroBased bool) []gha.Annotation {
	var out []gha.Annotation
	for _, c := range cases {
		if !c.Failed() {
			continue
		}
		file := c.File
		switch {
		case file == "":
		case filepath.IsAbs(file):
			if rel, err := filepath.Rel(root, file); err == nil && !strings.HasPrefix(rel, "..") {
				file = rel
			} else {
				file = ""
			}
		default:
			file = filepath.Join(dir, file)
		}
		msg := c.ID() + " failed"
		if p := c.Problem(); p != nil && p.Message != "" {
			msg += ": " + p.Message
		}
		line := c.Line // 0 means unknown, unless the runner counts from 0
		if zeroBased && file != "" {
			line++
		}
		out = append(out, gha.Annotation{Level: "error", File: filepath.ToSlash(file), Line: line, Title: "test failed", Message: msg})
	}
	return out
}
