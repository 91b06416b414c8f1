package source

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
)

func write(t *testing.T, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("-- "+f+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestDetect(t *testing.T) {
	cases := []struct {
		files   []string
		setting string
		want    Layout
	}{
		{[]string{"0001_a.up.sql", "0001_a.down.sql"}, "", Migrate},
		{[]string{"20240101000000_a.sql"}, "", SQLx},
		{[]string{"20240101000000_a.sql", "20240102000000_b.up.sql"}, "auto", SQLx},
		{[]string{"20240102000000_b.up.sql", "20240102000000_b.down.sql"}, "sqlx", SQLx},
		{[]string{"20240101000000_a.sql"}, "migrate", Migrate},
		{nil, "", Migrate},
	}
	for _, c := range cases {
		got, err := Detect(write(t, c.files...), c.setting)
		if err != nil || got != c.want {
			t.Errorf("%v %q: %q %v", c.files, c.setting, got, err)
		}
	}
	if _, err := Detect(t.TempDir(), "flyway"); fail.Code(err) != fail.Config {
		t.Errorf("bad setting: %v", err)
	}
	if _, err := Detect(filepath.Join(t.TempDir(), "missing"), ""); fail.Code(err) != fail.Config {
		t.Errorf("missing dir: %v", err)
	}
}

func TestLoadMigrate(t *testing.T) {
	dir := write(t, "0002_tasks.up.sql", "0001_pgmq.up.sql", "0001_pgmq.down.sql", "0003_typo.sql", "notes.txt")
	d, err := Load(dir, Migrate)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Migrations) != 2 || d.Migrations[0].Name != "0001_pgmq" || d.Migrations[0].Down != "0001_pgmq.down.sql" ||
		d.Migrations[1].Up != "0002_tasks.up.sql" || d.Migrations[1].Down != "" {
		t.Errorf("migrations %+v", d.Migrations)
	}
	if strings.Join(d.Ignored, ",") != "0003_typo.sql" {
		t.Errorf("ignored %v", d.Ignored)
	}
	if d.Previous(2) != 1 || d.Previous(1) != -1 || d.Latest() != 2 {
		t.Errorf("previous/latest wrong")
	}
	for _, bad := range [][]string{
		{"0001_a.up.sql", "0001_b.up.sql"},
		{"0001_a.down.sql"},
	} {
		if _, err := Load(write(t, bad...), Migrate); fail.Code(err) != fail.Config {
			t.Errorf("%v: %v", bad, err)
		}
	}
}

// sqlx's description: the tail after the first '_', suffix stripped, '_' → ' '.
func TestLoadSQLx(t *testing.T) {
	dir := write(t, "20240101000000_create_users.sql", "20240102000000_add_user_names.up.sql",
		"20240102000000_add_user_names.down.sql", "20240103000000_odd__name.sql.sql")
	d, err := Load(dir, SQLx)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ desc, up, down string }{
		{"create users", "20240101000000_create_users.sql", ""},
		{"add user names", "20240102000000_add_user_names.up.sql", "20240102000000_add_user_names.down.sql"},
		{"odd  name", "20240103000000_odd__name.sql.sql", ""},
	}
	for i, w := range want {
		m := d.Migrations[i]
		if m.Description != w.desc || m.Up != w.up || m.Down != w.down {
			t.Errorf("%d: %+v", i, m)
		}
	}
}

func TestHash(t *testing.T) {
	dir := write(t, "0001_a.up.sql", "0001_a.down.sql")
	h := func() string {
		d, err := Load(dir, Migrate)
		if err != nil {
			t.Fatal(err)
		}
		s, err := d.Hash()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	h1 := h()
	os.WriteFile(filepath.Join(dir, "0001_a.down.sql"), []byte("changed"), 0o644)
	if h() != h1 {
		t.Error("a down file changed the hash")
	}
	os.WriteFile(filepath.Join(dir, "0001_a.up.sql"), []byte("changed"), 0o644)
	if h() == h1 {
		t.Error("an up file did not change the hash")
	}
}

func TestNew(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	cases := []struct {
		existing []string
		layout   Layout
		name     string
		want     []string
	}{
		{nil, Migrate, "Add  Tasks-", []string{"0001_add_tasks.down.sql", "0001_add_tasks.up.sql"}},
		{[]string{"0001_a.up.sql", "0002_b.up.sql"}, Migrate, "c", []string{"0003_c.down.sql", "0003_c.up.sql"}},
		{[]string{"20250101000000_a.up.sql"}, Migrate, "c", []string{"20260304050607_c.down.sql", "20260304050607_c.up.sql"}},
		{[]string{"20240101000000_a.sql"}, SQLx, "users idx", []string{"20260304050607_users_idx.sql"}},
		{[]string{"20240101000000_a.up.sql", "20240101000000_a.down.sql"}, SQLx, "b", []string{"20260304050607_b.down.sql", "20260304050607_b.up.sql"}},
	}
	for _, c := range cases {
		dir := write(t, c.existing...)
		files, err := New(dir, c.layout, c.name, now)
		if err != nil {
			t.Fatalf("%v: %v", c.existing, err)
		}
		var got []string
		for _, f := range files {
			got = append(got, filepath.Base(f))
			if b, _ := os.ReadFile(f); !strings.HasPrefix(string(b), "-- ") {
				t.Errorf("%s has no header comment", f)
			}
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%v: got %v want %v", c.existing, got, c.want)
		}
	}
	if _, err := New(t.TempDir(), Migrate, "!!!", now); fail.Code(err) != fail.Config {
		t.Errorf("empty name: %v", err)
	}
}
