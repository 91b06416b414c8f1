package run

import (
	"slices"
	"testing"
)

func TestWithPathExtIsWhatWindowsWouldRun(t *testing.T) {
	for _, tc := range []struct {
		p, pathext string
		want       []string
	}{
		{`C:\bin\cargo`, ".COM;.EXE;.BAT;.CMD;", []string{`C:\bin\cargo.com`, `C:\bin\cargo.exe`, `C:\bin\cargo.bat`, `C:\bin\cargo.cmd`}},
		{`C:\bin\cargo.EXE`, ".COM;.EXE", []string{`C:\bin\cargo.EXE`}},
		{`C:\bin\npm`, "", []string{`C:\bin\npm.com`, `C:\bin\npm.exe`, `C:\bin\npm.bat`, `C:\bin\npm.cmd`}},
		{`C:\bin\tool.v2`, ".EXE", []string{`C:\bin\tool.v2.exe`}},
	} {
		if got := withPathExt(tc.p, tc.pathext); !slices.Equal(got, tc.want) {
			t.Errorf("withPathExt(%q, %q) = %q, want %q", tc.p, tc.pathext, got, tc.want)
		}
	}
}
