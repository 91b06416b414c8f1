package pgurl

import (
	"errors"
	"strings"
	"testing"

	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
)

// Parse errors are configuration errors that never echo the URL.
func TestParseErrorsHidePassword(t *testing.T) {
	for _, s := range []string{
		"postgresql://tasker:pa ss%zzS3cret@localhost/db", // invalid escape
		"postgresql://tasker:S3cret@host:badport/db",
		"mysql://tasker:S3cret@localhost/db",
		"postgresql://tasker:S3cret@h1,h2/db",
		"postgresql://tasker:S3cret@localhost:99999/db",
		"",
	} {
		_, err := Parse(s)
		if err == nil {
			t.Errorf("Parse(%q) succeeded", s)
			continue
		}
		if fail.Code(err) != fail.Config || strings.Contains(err.Error(), "S3cret") {
			t.Errorf("Parse(%q) = code %d %q", s, fail.Code(err), err)
		}
	}
}

// Go splits userinfo at the last '@', and String re-encodes it, so drivers
// see the password intact.
func TestUnescapedAt(t *testing.T) {
	u := MustParse("postgresql://tasker:p@S3cret@localhost/db")
	cfg, err := u.Config()
	if err != nil || cfg.Password != "p@S3cret" || u.Password() != "p@S3cret" || u.Host() != "localhost" || !strings.Contains(u.String(), "p%40S3cret@localhost") {
		t.Errorf("password %q host %q driver %s", u.Password(), u.Host(), u.Redacted())
	}
}

func TestAccessors(t *testing.T) {
	cases := []struct {
		url, host, addr string
		port            int
		local, socket   bool
	}{
		{"postgresql://tasker:tasker@localhost:5432/tasker_rust_test", "localhost", "localhost:5432/tasker_rust_test", 5432, true, false},
		{"postgres://u:p@127.0.0.1/db", "127.0.0.1", "127.0.0.1:5432/db", 5432, true, false},
		{"postgres://u:p@[::1]:6000/db", "::1", "[::1]:6000/db", 6000, true, false},
		{"postgres://u:p@db.example.com:6543/db", "db.example.com", "db.example.com:6543/db", 6543, false, false},
		{"postgres://u@/db?host=/var/run/postgresql&port=5433", "/var/run/postgresql", "/var/run/postgresql:5433/db", 5433, true, true},
	}
	for _, c := range cases {
		u := MustParse(c.url)
		if u.Host() != c.host || u.Port() != c.port || u.Local() != c.local || u.Socket() != c.socket || u.Addr() != c.addr {
			t.Errorf("%s: host %q port %d local %v socket %v addr %q", c.url, u.Host(), u.Port(), u.Local(), u.Socket(), u.Addr())
		}
	}
	// no host: pgx's default socket directory (or localhost), named as such
	t.Setenv("PGHOST", "")
	if u := MustParse("postgres:///db"); !u.Local() || u.Host() == "" || !strings.HasPrefix(u.Addr(), u.Host()+":5432/db") {
		t.Errorf("default host %q addr %q", u.Host(), u.Addr())
	}
}

func TestRedactedAndDerived(t *testing.T) {
	u := MustParse("postgresql://tasker:S3cret%40x@localhost:5432/app?sslmode=disable&password=S3cret2&x-migrations-table=m")
	red := u.Redacted()
	if strings.Contains(red, "S3cret") || !strings.Contains(red, "tasker:***@localhost:5432/app") {
		t.Errorf("Redacted = %s", red)
	}
	if u.Password() != "S3cret@x" {
		t.Errorf("Password = %q", u.Password())
	}
	d := u.WithDatabase("other").WithHostPort("127.0.0.1", 6000)
	if d.Database() != "other" || d.Port() != 6000 || d.Host() != "127.0.0.1" || d.Password() != "S3cret@x" {
		t.Errorf("derived %s", d.Redacted())
	}
	if u.Database() != "app" {
		t.Error("WithDatabase changed the original")
	}
	if cfg, err := u.Config(); err != nil || cfg.RuntimeParams["x-migrations-table"] != "" || cfg.TLSConfig != nil {
		t.Errorf("driver config %v %v", cfg, err)
	}
}

func TestScrub(t *testing.T) {
	u := MustParse("postgresql://tasker:S3cret%40x@localhost/app")
	msg := "failed: postgresql://tasker:S3cret%40x@localhost/app password S3cret@x"
	if got := u.Scrub(msg); strings.Contains(got, "S3cret") {
		t.Errorf("Scrub = %s", got)
	}
	err := u.ScrubErr(fail.Wrap(fail.Refused, errors.New("pw S3cret@x"), "boom"))
	if strings.Contains(err.Error(), "S3cret") || fail.Code(err) != fail.Refused {
		t.Errorf("ScrubErr = %v code %d", err, fail.Code(err))
	}
	// the public dev default (password = user name) is left alone
	dev := MustParse("postgresql://tasker:tasker@localhost/tasker_rust_test")
	if got := dev.Scrub("database tasker_rust_test"); got != "database tasker_rust_test" {
		t.Errorf("dev Scrub = %s", got)
	}
}

// The host, port and database are the ones pgx connects to: its parser
// reads the host and port parameters over the URL's authority.
func TestDriverReadingWins(t *testing.T) {
	cases := []struct {
		url, host, addr string
		hosts           []string
		local           bool
	}{
		{"postgresql://u:p@127.0.0.1:5432/victim?host=192.0.2.1", "192.0.2.1", "192.0.2.1:5432/victim", []string{"192.0.2.1"}, false},
		{"postgresql://u:p@127.0.0.1:1/db?port=6000", "127.0.0.1", "127.0.0.1:6000/db", []string{"127.0.0.1"}, true},
		{"postgresql://u:p@localhost/path_db?dbname=param_db", "localhost", "localhost:5432/param_db", []string{"localhost"}, true},
		{"postgresql://u:p@localhost/db?host=/tmp/a,db.example.com", "/tmp/a", "/tmp/a:5432/db,db.example.com:5432/db", []string{"/tmp/a", "db.example.com"}, false},
		{"postgresql://u:p@localhost/db?hostaddr=192.0.2.3", "192.0.2.3", "192.0.2.3:5432/db", []string{"localhost", "192.0.2.3"}, false},
	}
	for _, c := range cases {
		u := MustParse(c.url)
		if u.Host() != c.host || u.Addr() != c.addr || u.Local() != c.local || strings.Join(u.Hosts(), " ") != strings.Join(c.hosts, " ") {
			t.Errorf("%s: host %q addr %q local %v hosts %q", c.url, u.Host(), u.Addr(), u.Local(), u.Hosts())
		}
	}
}

// The connection config is the one the URL was judged by: same hosts,
// hostaddr applied (pgx would send it to the server as a setting).
func TestConfigUsesTheJudgedHosts(t *testing.T) {
	u := MustParse("postgresql://u:p@localhost:6001/db?hostaddr=127.0.0.2&sslmode=disable")
	cfg, err := u.Config()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "127.0.0.2" || cfg.Port != 6001 || cfg.RuntimeParams["hostaddr"] != "" {
		t.Errorf("config host %s port %d params %v", cfg.Host, cfg.Port, cfg.RuntimeParams)
	}
	for _, fb := range cfg.Fallbacks {
		if fb.Host != "127.0.0.2" {
			t.Errorf("fallback host %s", fb.Host)
		}
	}
	if _, err := Parse("postgresql://u:S3cret@localhost/db?hostaddr=127.0.0.1,127.0.0.2"); fail.Code(err) != fail.Config || strings.Contains(err.Error(), "S3cret") {
		t.Errorf("a hostaddr list: %v", err)
	}
}

// A derived URL keeps a search_path option usable: libpq and pgx decode
// only %XX, so a space re-encoded as '+' would reach the server as
// "-c+search_path=public" (unrecognized configuration parameter).
func TestDerivedURLsKeepOptions(t *testing.T) {
	u := MustParse("postgresql://u:p@localhost:5432/db?options=-c%20search_path%3Dpublic")
	for name, d := range map[string]URL{
		"database":  u.WithDatabase("other"),
		"host port": u.WithHostPort("127.0.0.1", 5433),
		"param":     u.WithParam("sslmode", "disable"),
		"new param": MustParse("postgresql://u:p@localhost/db").WithParam("options", "-c search_path=public"),
	} {
		cfg, err := d.Config()
		if err != nil || cfg.RuntimeParams["options"] != "-c search_path=public" {
			t.Errorf("%s: options %q (%v) in %s", name, cfg.RuntimeParams["options"], err, d.Redacted())
		}
	}
}

// Errors name the variable the URL came from.
func TestParseVarNamesTheVariable(t *testing.T) {
	_, err := ParseVar("PGMQ_DATABASE_URL", "mysql://u:p@h/db")
	if err == nil || !strings.HasPrefix(err.Error(), "PGMQ_DATABASE_URL is not a valid postgresql:// URL") {
		t.Errorf("%v", err)
	}
	u, _ := ParseVar("PGMQ_DATABASE_URL", "postgresql://u:p@localhost/q")
	if u.WithDatabase("other").Variable() != "PGMQ_DATABASE_URL" || MustParse("postgresql://localhost/db").Variable() != "DATABASE_URL" {
		t.Error("a derived URL forgets where it came from")
	}
}
