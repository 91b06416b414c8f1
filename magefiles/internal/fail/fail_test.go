package fail

import (
	"errors"
	"fmt"
	"testing"
)

func TestCodeFollowsTheChain(t *testing.T) {
	base := New(MissingTool, "cargo-nextest not found")
	wrapped := fmt.Errorf("rust:test: %w", base)
	cases := []struct {
		err  error
		want int
	}{
		{nil, OK},
		{errors.New("plain"), Failed},
		{base, MissingTool},
		{wrapped, MissingTool},
		{Wrap(Config, errors.New("bad line"), ".env:3"), Config},
	}
	for _, c := range cases {
		if got := Code(c.err); got != c.want {
			t.Errorf("Code(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

func TestMessageIncludesCause(t *testing.T) {
	err := Wrap(Config, errors.New("unexpected character"), ".env:3")
	if got, want := err.Error(), ".env:3: unexpected character"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if !errors.Is(err, err.Err) {
		t.Fatal("cause lost for errors.Is")
	}
}
