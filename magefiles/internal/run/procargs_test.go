package run

import (
	"slices"
	"testing"
)

func TestProcArgsOfAPostmaster(t *testing.T) {
	exe, argv, err := parseProcArgs([]byte(recorded(t, "procargs2-postgres.bin")))
	const bin = "/opt/homebrew/Cellar/postgresql@15/15.13/bin/postgres"
	want := []string{bin, "-D", "/Users/dev/src/tasker/.tasker/postgres/data"}
	if err != nil || exe != bin || !slices.Equal(argv, want) {
		t.Errorf("got %q %q %v; want %q %q (no environment)", exe, argv, err, bin, want)
	}
}

func TestProcArgsRefusesBrokenBuffers(t *testing.T) {
	if _, argv, err := parseProcArgs([]byte(recorded(t, "procargs2-truncated.bin"))); err == nil {
		t.Errorf("a buffer cut inside its arguments parsed: %q", argv)
	}
	for _, buf := range [][]byte{nil, {3, 0, 0}, {1, 0, 0, 0}, {1, 0, 0, 0, 0, 'x', 0}} {
		if _, _, err := parseProcArgs(buf); err == nil {
			t.Errorf("%q parsed", buf)
		}
	}
}
