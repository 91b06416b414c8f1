// Package gha is the one place that speaks GitHub Actions: workflow
// commands (log groups, annotations, warnings) with GitHub's escaping, the
// step summary file and step outputs. Everything the build prints for
// Actions goes through it.
package gha

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Group starts a collapsible log group; EndGroup ends it.
func Group(name string) string { return "::group::" + escapeData(name) }

// EndGroup ends the current log group.
func EndGroup() string { return "::endgroup::" }

// Annotation is an error, warning or notice, shown on the run and, with a
// file and line, on the pull request's diff.
type Annotation struct {
	Level   string // error, warning or notice
	File    string // relative to the repository root
	Line    int
	Col     int
	Title   string
	Message string
}

// String renders the workflow command.
func (a Annotation) String() string {
	var props []string
	add := func(k, v string) {
		if v != "" && v != "0" {
			props = append(props, k+"="+escapeProperty(v))
		}
	}
	add("file", a.File)
	add("line", strconv.Itoa(a.Line))
	add("col", strconv.Itoa(a.Col))
	add("title", a.Title)
	cmd := "::" + a.Level
	if len(props) > 0 {
		cmd += " " + strings.Join(props, ",")
	}
	return cmd + "::" + escapeData(a.Message)
}

// Warning is a warning annotation without a location.
func Warning(message string) string { return Annotation{Level: "warning", Message: message}.String() }

func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// AppendSummary appends Markdown to the step summary file
// ($GITHUB_STEP_SUMMARY).
func AppendSummary(path, markdown string) error { return appendFile(path, markdown) }

// SetOutput appends a step output to the outputs file ($GITHUB_OUTPUT),
// as name<<DELIMITER / value / DELIMITER, with a random delimiter that the
// value does not contain: a multi-line value, or one holding "name=x",
// cannot end the value early or inject another output.
func SetOutput(path, name, value string) error {
	if name == "" || strings.ContainsAny(name, "\r\n=<") {
		return fmt.Errorf("invalid output name %q", name)
	}
	var delim string
	for delim == "" || strings.Contains(value, delim) {
		b := make([]byte, 12)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		delim = "ghadelimiter_" + hex.EncodeToString(b)
	}
	return appendFile(path, fmt.Sprintf("%s<<%s\n%s\n%s\n", name, delim, value, delim))
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(text)
	return errors.Join(err, f.Close())
}
