package guard

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pgurl"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
)

func TestCheck(t *testing.T) {
	local := "postgresql://tasker:s3cret@localhost:5432/app"
	cases := []struct {
		name, url, env, db string
		allow              bool
		rule               string // "" = allowed
	}{
		{"localhost", local, "test", "", false, ""},
		{"ipv4 loopback", "postgresql://u:s3cret@127.0.0.2/app", "development", "", false, ""},
		{"ipv6 loopback", "postgresql://u:s3cret@[::1]:5433/app", "", "", false, ""},
		{"socket param", "postgresql://u:s3cret@/app?host=/tmp/pg", "test", "", false, ""},
		{"default socket", "postgresql:///app", "test", "", false, ""},
		{"remote host", "postgresql://u:s3cret@db.example.com/app", "test", "", false, "not loopback"},
		{"production", local, "production", "", false, "TASKER_ENV is production"},
		{"staging mixed case", local, " Staging ", "", false, "TASKER_ENV is staging"},
		{"postgres db", "postgresql://u:s3cret@localhost/postgres", "test", "", false, "one PostgreSQL needs"},
		{"template1 explicit", local, "test", "template1", false, "one PostgreSQL needs"},
		{"template0", "postgresql://u:s3cret@localhost/template0", "test", "", false, "one PostgreSQL needs"},
		{"no database", "postgresql://u:s3cret@localhost", "test", "", false, "names no database"},
		{"override remote", "postgresql://u:s3cret@db.example.com/app", "production", "", true, ""},
		// the driver connects to the host parameter, not the URL's host
		{"host param any address", "postgresql://u:s3cret@127.0.0.1:5432/victim?host=0.0.0.0", "test", "", false, "the host 0.0.0.0 is not loopback"},
		{"host param remote", "postgresql://u:s3cret@127.0.0.1:5432/victim?host=192.0.2.1", "test", "", false, "the host 192.0.2.1 is not loopback"},
		{"multi-host list", "postgresql://u:s3cret@localhost/app?host=localhost,db.example.com", "test", "", false, "the host db.example.com is not loopback"},
		{"hostaddr param", "postgresql://u:s3cret@localhost/app?hostaddr=192.0.2.7", "test", "", false, "the host 192.0.2.7 is not loopback"},
		{"socket and loopback list", "postgresql://u:s3cret@localhost/app?host=/tmp/pg,127.0.0.1", "test", "", false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Check(Request{Op: "drop", URL: pgurl.MustParse(c.url), Database: c.db, TaskerEnv: c.env, Allow: c.allow})
			if c.rule == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("allowed, want refusal")
			}
			msg := err.Error()
			if fail.Code(err) != fail.Refused || !strings.Contains(msg, c.rule) || !strings.Contains(msg, Override+"=1") {
				t.Fatalf("got code %d %q", fail.Code(err), msg)
			}
			if strings.Contains(msg, "s3cret") {
				t.Fatalf("password in %q", msg)
			}
		})
	}
}

// Hosts the URL does not spell out but the driver would use: PGHOST,
// PGHOSTADDR and a service file.
func TestHostsFromTheEnvironment(t *testing.T) {
	services := filepath.Join(t.TempDir(), "pg_service.conf")
	if err := os.WriteFile(services, []byte("[remote]\nhost=db.example.com\nport=5432\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ name, url, env, value, host string }{
		{"PGHOST", "postgresql://u:s3cret@/app", "PGHOST", "db.example.com", "db.example.com"},
		{"PGHOSTADDR", "postgresql://u:s3cret@localhost/app", "PGHOSTADDR", "192.0.2.9", "192.0.2.9"},
		{"service file", "postgresql://u:s3cret@/app?service=remote", "PGSERVICEFILE", services, "db.example.com"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(c.env, c.value)
			u, err := pgurl.Parse(c.url)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Check(Request{Op: "drop", URL: u, TaskerEnv: "test"})
			if fail.Code(err) != fail.Refused || !strings.Contains(err.Error(), "the host "+c.host+" is not loopback") {
				t.Fatalf("got code %d: %v", fail.Code(err), err)
			}
		})
	}
}

func TestOverrideReportsRule(t *testing.T) {
	why, err := Check(Request{Op: "reset", URL: pgurl.MustParse("postgresql://u:p@localhost/postgres"), Allow: true})
	if err != nil || !strings.Contains(why, "postgres") {
		t.Fatalf("why=%q err=%v", why, err)
	}
}
