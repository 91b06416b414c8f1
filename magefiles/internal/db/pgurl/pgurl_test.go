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
	if u.Password() != "p@S3cret" || u.Host() != "localhost" || !strings.Contains(u.ForDriver(), "p%40S3cret@localhost") {
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
		{"postgres:///db", "", "(default socket):5432/db", 5432, true, true},
	}
	for _, c := range cases {
		u := MustParse(c.url)
		if u.Host() != c.host || u.Port() != c.port || u.Local() != c.local || u.Socket() != c.socket || u.Addr() != c.addr {
			t.Errorf("%s: host %q port %d local %v socket %v addr %q", c.url, u.Host(), u.Port(), u.Local(), u.Socket(), u.Addr())
		}
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
	if f := u.ForDriver(); strings.Contains(f, "x-migrations") || !strings.Contains(f, "sslmode=disable") {
		t.Errorf("ForDriver = %s", f)
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
