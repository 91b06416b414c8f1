package gha

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAnnotationEscaping(t *testing.T) {
	a := Annotation{Level: "error", File: "src/a,b.rs", Line: 3, Col: 4, Title: "E0308: mismatch", Message: "100% wrong\nsecond line"}
	want := "::error file=src/a%2Cb.rs,line=3,col=4,title=E0308%3A mismatch::100%25 wrong%0Asecond line"
	if got := a.String(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got := Warning("plain"); got != "::warning::plain" {
		t.Errorf("warning: %s", got)
	}
	if got := Group("rust:lint"); got != "::group::rust:lint" {
		t.Errorf("group: %s", got)
	}
}

// outputs parses an outputs file the way the runner does: name=value
// lines and name<<DELIM blocks.
func outputs(t *testing.T, path string) map[string]string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if name, delim, ok := strings.Cut(line, "<<"); ok {
			var lines []string
			for sc.Scan() && sc.Text() != delim {
				lines = append(lines, sc.Text())
			}
			out[name] = strings.Join(lines, "\n")
			continue
		}
		if name, value, ok := strings.Cut(line, "="); ok {
			out[name] = value
		}
	}
	return out
}

// A multi-line value, or one that looks like another output, stays one
// value.
func TestSetOutputIsDelimiterSafe(t *testing.T) {
	path := filepath.Join(t.TempDir(), "output")
	values := map[string]string{
		"matrix":    `{"include":[{"area":"rust"}]}`,
		"multiline": "first\nsecond\nevil=injected",
	}
	for name, v := range values {
		if err := SetOutput(path, name, v); err != nil {
			t.Fatal(err)
		}
	}
	got := outputs(t, path)
	if len(got) != 2 || got["matrix"] != values["matrix"] || got["multiline"] != values["multiline"] {
		t.Fatalf("parsed outputs %q", got)
	}
	if err := SetOutput(path, "a\nb", "x"); err == nil {
		t.Error("a name with a newline was accepted")
	}
}
