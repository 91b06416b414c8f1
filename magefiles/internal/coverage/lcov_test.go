package coverage

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

const sample = `TN:
SF:src/a.rs
FN:1,main
FNDA:1,main
DA:1,4
DA:2,0
DA:3,18446744073709551615
BRDA:2,0,0,1
LF:3
LH:2
end_of_record
SF:src/summary_only.py
LF:10
LH:7
end_of_record
SF:src/a.rs
DA:2,3
DA:4,0
end_of_record
`

func TestParseCountsDALinesAndMergesRepeatedFiles(t *testing.T) {
	rep, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	a := rep["src/a.rs"]
	// lines 1-4: the second record adds hits to line 2 and a new line 4
	if got := a.Totals(); got != (Totals{Hit: 3, Found: 4}) {
		t.Errorf("src/a.rs totals = %+v, want 3 of 4", got)
	}
	if a.Lines[3] != 1<<63-1 {
		t.Errorf("a counter past int64 is kept as the largest count, got %d", a.Lines[3])
	}
	// a record without DA lines counts by its LF and LH
	if got := rep["src/summary_only.py"].Totals(); got != (Totals{Hit: 7, Found: 10}) {
		t.Errorf("LF/LH-only record = %+v, want 7 of 10", got)
	}
	if got := rep.Totals(); got != (Totals{Hit: 10, Found: 14}) {
		t.Errorf("report totals = %+v, want 10 of 14", got)
	}
}

func TestParseRejectsMalformedRecords(t *testing.T) {
	cases := map[string]string{
		"DA outside a record":     "DA:1,1\n",
		"bad line number":         "SF:x\nDA:zero,1\nend_of_record\n",
		"bad hit count":           "SF:x\nDA:1,many\nend_of_record\n",
		"DA without hits":         "SF:x\nDA:1\nend_of_record\n",
		"no end_of_record":        "SF:x\nDA:1,1\n",
		"SF inside a record":      "SF:x\nSF:y\nend_of_record\n",
		"SF without a path":       "SF:\nend_of_record\n",
		"LF that is not a number": "SF:x\nLF:ten\nend_of_record\n",
	}
	for name, text := range cases {
		if _, err := Parse(strings.NewReader(text)); err == nil {
			t.Errorf("%s: parsed without error", name)
		}
	}
	// gcov-style -1 means "not counted": a line that did not run
	rep, err := Parse(strings.NewReader("SF:x\nDA:1,-1\nend_of_record\n"))
	if err != nil || rep["x"].Totals() != (Totals{Found: 1}) {
		t.Errorf("DA:1,-1 = %+v, %v; want 0 of 1", rep["x"], err)
	}
}

func TestMergeIsTheUnionOfLinesWithHitsSummed(t *testing.T) {
	a, _ := Parse(strings.NewReader("SF:f\nDA:1,1\nDA:2,0\nend_of_record\n"))
	b, _ := Parse(strings.NewReader("SF:f\nDA:2,5\nDA:3,0\nend_of_record\nSF:g\nDA:1,1\nend_of_record\n"))
	m := Report{}
	m.Merge(a)
	m.Merge(b)
	if got := m["f"].Totals(); got != (Totals{Hit: 2, Found: 3}) {
		t.Errorf("merged f = %+v, want 2 of 3", got)
	}
	if m["f"].Lines[2] != 5 || len(m) != 2 {
		t.Errorf("merged report = %+v", m)
	}
	// merging copies: the inputs are unchanged
	if a["f"].Lines[2] != 0 {
		t.Error("Merge changed its input")
	}
}

func TestRebaseKeepAndWithout(t *testing.T) {
	root := filepath.FromSlash("/repo")
	rep, _ := Parse(strings.NewReader(
		"SF:python/pkg/a.py\nDA:1,1\nend_of_record\n" +
			"SF:/repo/workers/python/python/pkg/b.py\nDA:1,0\nend_of_record\n" +
			"SF:/usr/lib/python3/site.py\nDA:1,1\nend_of_record\n"))
	rebased := rep.Rebase(filepath.FromSlash("/repo/workers/python"), root)
	want := []string{"/usr/lib/python3/site.py", "workers/python/python/pkg/a.py", "workers/python/python/pkg/b.py"}
	if got := rebased.Paths(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("rebased paths = %v, want %v", got, want)
	}
	kept := rebased.Keep("workers/python/python")
	if got := kept.Paths(); len(got) != 2 || kept.Totals() != (Totals{Hit: 1, Found: 2}) {
		t.Errorf("kept = %v %+v", got, kept.Totals())
	}
	// "workers/python/python" must not match a sibling directory's prefix
	if n := len(rebased.Keep("workers/py")); n != 0 {
		t.Errorf("Keep matched %d files by a partial directory name", n)
	}
	if got := rebased.Without(kept).Paths(); len(got) != 1 || got[0] != want[0] {
		t.Errorf("Without = %v", got)
	}
}

func TestWriteRoundTrips(t *testing.T) {
	rep, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := rep.Write(&b); err != nil {
		t.Fatal(err)
	}
	again, err := Parse(&b)
	if err != nil {
		t.Fatal(err)
	}
	if again.Totals() != rep.Totals() || again["src/a.rs"].Lines[2] != 3 {
		t.Errorf("round trip: %+v, want %+v", again.Totals(), rep.Totals())
	}
	out := b.String()
	if strings.Index(out, "SF:src/a.rs") > strings.Index(out, "SF:src/summary_only.py") {
		t.Errorf("files are not sorted:\n%s", out)
	}
}

func TestPercentRoundsDown(t *testing.T) {
	cases := map[Totals]string{
		{Hit: 0, Found: 0}:        "0.0%",
		{Hit: 2, Found: 3}:        "66.6%",
		{Hit: 999, Found: 1000}:   "99.9%",
		{Hit: 9999, Found: 10000}: "99.9%", // never shown as 100% while a line is missed
		{Hit: 5, Found: 5}:        "100.0%",
	}
	for tot, want := range cases {
		if got := Percent(tot.Percent()); got != want {
			t.Errorf("%+v = %s, want %s", tot, got, want)
		}
	}
}
