package stamp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestHashFollowsContentsNamesAndSkipsOutputs(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "src/lib.rs"), "fn a() {}")
	write(t, filepath.Join(root, "src/notes.md"), "x")
	write(t, filepath.Join(root, "Cargo.lock"), "v1")
	rs := func(n string) bool { return strings.HasSuffix(n, ".rs") || n == "Cargo.lock" }
	hash := func() string {
		h, err := Hash(root, rs, []string{"src", "Cargo.lock", "absent"}, "rustc 1.95")
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	first := hash()
	if len(first) != 16 || hash() != first {
		t.Fatalf("hash %q is not stable", first)
	}
	write(t, filepath.Join(root, "src/notes.md"), "changed")        // filtered out
	write(t, filepath.Join(root, "src/target/x.rs"), "fn out() {}") // skipped dir
	if hash() != first {
		t.Fatal("a filtered file or a skipped directory changed the hash")
	}
	write(t, filepath.Join(root, "src/lib.rs"), "fn b() {}")
	second := hash()
	if second == first {
		t.Fatal("a source change did not change the hash")
	}
	write(t, filepath.Join(root, "absent"), "")
	if hash() == second {
		t.Fatal("creating a missing path did not change the hash")
	}
	// Each missing path counts under its own name.
	if a, _ := Hash(root, nil, []string{"gone-a"}); a == mustHash(t, root, "gone-b") {
		t.Fatal("two different missing paths hash the same")
	}
	if h, _ := Hash(root, rs, []string{"src"}, "rustc 1.96"); h == hash() {
		t.Fatal("extra strings are not hashed")
	}
}

func TestStampRoundTrip(t *testing.T) {
	s := Stamp{Path: filepath.Join(t.TempDir(), "stamps", "python-setup")}
	if s.Matches("k") {
		t.Fatal("a missing stamp matched")
	}
	if err := s.Save("k"); err != nil {
		t.Fatal(err)
	}
	if !s.Matches("k") || s.Matches("other") {
		t.Fatal("stamp does not record its key")
	}
	if err := s.Clear(); err != nil || s.Matches("k") {
		t.Fatalf("clear: %v", err)
	}
	if err := s.Clear(); err != nil {
		t.Fatalf("clearing twice: %v", err)
	}
}

func mustHash(t *testing.T, root string, paths ...string) string {
	t.Helper()
	h, err := Hash(root, nil, paths)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
