// Package pgurl parses DATABASE_URL-style connection URLs without ever
// putting the password into an error or a printed string, and derives the
// URLs the db targets need (maintenance database, another database, another
// port).
package pgurl

import (
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/tasker-systems/tasker-build/magefiles/internal/env"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
)

// mask replaces a password wherever one would be printed.
const mask = env.Mask

// URL is a parsed postgres:// or postgresql:// URL. The zero value is not usable.
type URL struct{ u *url.URL }

// Parse parses s. Errors are configuration errors (exit 5) that never
// contain s: url.Parse errors embed the raw URL, password included.
func Parse(s string) (URL, error) {
	bad := func(why string) error {
		return fail.New(fail.Config, "DATABASE_URL is not a valid postgresql:// URL: %s", why)
	}
	if strings.TrimSpace(s) == "" {
		return URL{}, bad("it is empty; set it in .env.local, e.g. postgresql://tasker:tasker@localhost:5432/tasker_rust_test")
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		why := "it does not parse"
		if errors.As(err, &ue) {
			why = strings.TrimPrefix(ue.Err.Error(), "net/url: ")
		}
		if strings.Contains(why, "userinfo") || strings.Contains(why, "escape") {
			why += " (percent-encode special characters in the user name and password)"
		}
		return URL{}, bad(why)
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return URL{}, bad("the scheme must be postgresql:// or postgres://")
	}
	if strings.Contains(u.Host, ",") {
		return URL{}, bad("multi-host URLs are not supported")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n <= 0 || n > 65535 {
			return URL{}, bad("the port must be a number between 1 and 65535")
		}
	}
	if _, err := url.ParseQuery(u.RawQuery); err != nil {
		return URL{}, bad("the query string does not parse")
	}
	return URL{u: u}, nil
}

// MustParse is Parse for literals in tests and defaults.
func MustParse(s string) URL {
	u, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func (u URL) clone() *url.URL {
	c := *u.u
	if u.u.User != nil {
		uc := *u.u.User
		c.User = &uc
	}
	return &c
}

// String is the full URL, password included: hand it to drivers and child
// processes, never print it.
func (u URL) String() string { return u.u.String() }

// Redacted is the URL with the password (userinfo and ?password=) hidden.
func (u URL) Redacted() string {
	const placeholder = "pgurlredactedpassword" // survives URL encoding, then becomes the mask
	c := u.clone()
	if _, has := c.User.Password(); has {
		c.User = url.UserPassword(c.User.Username(), placeholder)
	}
	q := c.Query()
	if q.Has("password") {
		q.Set("password", placeholder)
		c.RawQuery = q.Encode()
	}
	return strings.ReplaceAll(c.String(), placeholder, mask)
}

// Password is the password from the userinfo or the password parameter.
func (u URL) Password() string {
	if p, ok := u.u.User.Password(); ok {
		return p
	}
	return u.u.Query().Get("password")
}

// User is the user name ("" if none).
func (u URL) User() string { return u.u.User.Username() }

// Database is the database name ("" if none).
func (u URL) Database() string { return strings.TrimPrefix(u.u.Path, "/") }

// Host is the host: from the URL, else the host= parameter (a socket
// directory), else "" (libpq's default socket).
func (u URL) Host() string {
	if h := u.u.Hostname(); h != "" {
		return h
	}
	return u.u.Query().Get("host")
}

// Port is the port (5432 when the URL has none).
func (u URL) Port() int {
	p := u.u.Port()
	if p == "" {
		p = u.u.Query().Get("port")
	}
	if n, err := strconv.Atoi(p); err == nil {
		return n
	}
	return 5432
}

// Socket reports whether the URL connects through a unix socket.
func (u URL) Socket() bool { h := u.Host(); return h == "" || strings.HasPrefix(h, "/") }

// Local reports whether the server is on this machine: a unix socket or a
// loopback address (localhost, 127.0.0.0/8, ::1).
func (u URL) Local() bool {
	if u.Socket() {
		return true
	}
	h := u.Host()
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// Addr names the target for messages: host:port/db, no credentials.
func (u URL) Addr() string {
	h := u.Host()
	if h == "" {
		h = "(default socket)"
	}
	if strings.Contains(h, ":") && !strings.HasPrefix(h, "/") {
		h = "[" + h + "]"
	}
	return h + ":" + strconv.Itoa(u.Port()) + "/" + u.Database()
}

// WithDatabase returns the URL pointing at another database.
func (u URL) WithDatabase(name string) URL {
	c := u.clone()
	c.Path = "/" + name
	c.RawPath = ""
	return URL{u: c}
}

// WithHostPort returns the URL pointing at host:port over TCP (a host=
// or port= parameter is dropped).
func (u URL) WithHostPort(host string, port int) URL {
	c := u.clone()
	c.Host = net.JoinHostPort(host, strconv.Itoa(port))
	q := c.Query()
	if q.Has("host") || q.Has("port") {
		q.Del("host")
		q.Del("port")
		c.RawQuery = q.Encode()
	}
	return URL{u: c}
}

// WithParam returns the URL with a query parameter set.
func (u URL) WithParam(key, value string) URL {
	c := u.clone()
	q := c.Query()
	q.Set(key, value)
	c.RawQuery = q.Encode()
	return URL{u: c}
}

// ForDriver is String without golang-migrate's x-* parameters, which pgx
// would send to the server as unknown settings.
func (u URL) ForDriver() string {
	c := u.clone()
	q := c.Query()
	changed := false
	for k := range q {
		if strings.HasPrefix(k, "x-") {
			q.Del(k)
			changed = true
		}
	}
	if changed {
		c.RawQuery = q.Encode()
	}
	return c.String()
}

// Scrub replaces every occurrence of the URL's password (raw and
// percent-encoded) in s with *** (env.Mask). Use it on any text from a driver. A
// password equal to the user name (the public dev default tasker:tasker) is
// left alone: it is no secret, and scrubbing it would mangle every message
// that names the user or a database like tasker_rust_test.
func (u URL) Scrub(s string) string {
	if p := u.Password(); p != u.User() {
		return ScrubSecret(s, p)
	}
	return s
}

// ScrubSecret replaces secret (raw and in its URL encodings) in s.
func ScrubSecret(s, secret string) string {
	if len(secret) < 2 { // one character would redact half of any message
		return s
	}
	for _, v := range []string{secret, url.QueryEscape(secret), url.PathEscape(secret), url.UserPassword("", secret).String()[1:]} {
		if len(v) >= 2 {
			s = strings.ReplaceAll(s, v, mask)
		}
	}
	return s
}

// ScrubErr returns err with the password removed from its text, keeping
// its exit code. A nil err stays nil.
func (u URL) ScrubErr(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := u.Scrub(msg)
	if clean == msg {
		return err
	}
	return &scrubbed{msg: clean, err: err}
}

// scrubbed keeps the cause for errors.Is/As (and the exit code) but prints
// the cleaned text.
type scrubbed struct {
	msg string
	err error
}

func (s *scrubbed) Error() string   { return s.msg }
func (s *scrubbed) Unwrap() error   { return s.err }
func (s *scrubbed) ExitStatus() int { return fail.Code(s.err) }
