// Package pgurl parses DATABASE_URL-style connection URLs without ever
// putting the password into an error or a printed string, and derives the
// URLs the db targets need (maintenance database, another database, another
// port).
//
// What a URL points at is pgx's reading of it, not the URL's text: pgx lets
// the host and port parameters override the authority, takes hosts from
// PGHOST or a service file when the URL names none, and tries every host of
// a list. Each URL keeps the config pgx parsed, so the guard judges, the
// messages name and the connection uses the same hosts.
package pgurl

import (
	"errors"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tasker-systems/tasker-build/magefiles/internal/env"
	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
)

// mask replaces a password wherever one would be printed.
const mask = env.Mask

// URL is a parsed postgres:// or postgresql:// URL. The zero value is not usable.
type URL struct {
	u        *url.URL
	cfg      *pgx.ConnConfig // pgx's reading of u (x-* parameters left out)
	hostaddr string          // libpq's hostaddr (parameter or PGHOSTADDR): the address used instead of the host's
	err      error           // why a derived URL does not parse (Config returns it)
	variable string          // where it came from, for messages ("" = DATABASE_URL)
}

// Parse parses s, DATABASE_URL's value. Errors are configuration errors
// (exit 5) that never contain s: url.Parse errors embed the raw URL,
// password included.
func Parse(s string) (URL, error) { return ParseVar("DATABASE_URL", s) }

// ParseVar is Parse for the value of another variable, which errors name.
func ParseVar(variable, s string) (URL, error) {
	bad := func(why string) error {
		return fail.New(fail.Config, "%s is not a valid postgresql:// URL: %s", variable, why)
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
	return read(u, variable)
}

// read adds pgx's reading of u (the environment included: PGHOST, PGPORT,
// service files, the password file).
func read(u *url.URL, variable string) (URL, error) {
	r := URL{u: u, cfg: &pgx.ConnConfig{}, variable: variable}
	cfg, err := pgx.ParseConfig(driverString(u))
	if err != nil {
		return URL{}, fail.New(fail.Config, "%s is not usable: %s", variable, r.Scrub(parseMessage(err)))
	}
	r.cfg = cfg
	r.hostaddr = cfg.RuntimeParams["hostaddr"]
	if _, set := cfg.RuntimeParams["hostaddr"]; !set {
		r.hostaddr = os.Getenv("PGHOSTADDR")
	}
	if strings.Contains(r.hostaddr, ",") {
		return URL{}, fail.New(fail.Config, "%s is not usable: a list of hostaddr values is not supported; give one address, or list hosts in host=", variable)
	}
	return r, nil
}

// parseMessage drops pgx's "cannot parse `<url>`:" prefix (it redacts the
// password on a best-effort basis only).
func parseMessage(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, "`: "); i >= 0 {
		msg = msg[i+3:]
	}
	return msg
}

// derive is the URL for a modified copy of u's text.
func (u URL) derive(c *url.URL) URL {
	r, err := read(c, u.Variable())
	if err != nil {
		return URL{u: c, cfg: &pgx.ConnConfig{}, err: err, variable: u.variable}
	}
	return r
}

// Variable names where the URL came from: DATABASE_URL, or the variable
// given to ParseVar.
func (u URL) Variable() string {
	if u.variable == "" {
		return "DATABASE_URL"
	}
	return u.variable
}

// Config is a copy of pgx's config for the URL, ready to connect: the
// hosts are the ones Hosts lists (a hostaddr replaces every host's
// address, as in libpq; pgx itself would send it to the server as a
// setting).
func (u URL) Config() (*pgx.ConnConfig, error) {
	if u.err != nil {
		return nil, u.err
	}
	cfg := u.cfg.Copy()
	if u.hostaddr != "" {
		delete(cfg.RuntimeParams, "hostaddr")
		cfg.Host = u.hostaddr
		for _, fb := range cfg.Fallbacks {
			fb.Host = u.hostaddr
		}
	}
	return cfg, nil
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
		c.RawQuery = encode(q)
	}
	return strings.ReplaceAll(c.String(), placeholder, mask)
}

// Password is the password pgx uses: from the URL, PGPASSWORD or the
// password file.
func (u URL) Password() string {
	if p, ok := u.u.User.Password(); ok {
		return p
	}
	if u.cfg.Password != "" {
		return u.cfg.Password
	}
	return u.u.Query().Get("password")
}

// User is the role pgx logs in as (without one in the URL: PGUSER, else
// the OS user).
func (u URL) User() string { return u.cfg.User }

// Database is the database name ("" if none).
func (u URL) Database() string { return u.cfg.Database }

// Host is the host pgx connects to first: a hostaddr when one is set, a
// socket directory (/…), a name or an address.
func (u URL) Host() string {
	if u.hostaddr != "" {
		return u.hostaddr
	}
	return u.cfg.Host
}

// Hosts is every host pgx may connect to (the list's fallbacks included)
// and the hostaddr, in order, each once.
func (u URL) Hosts() []string {
	var hosts []string
	add := func(h string) {
		for _, seen := range hosts {
			if seen == h {
				return
			}
		}
		hosts = append(hosts, h)
	}
	add(u.cfg.Host)
	for _, fb := range u.cfg.Fallbacks {
		add(fb.Host)
	}
	if u.hostaddr != "" {
		add(u.hostaddr)
	}
	return hosts
}

// Port is the port pgx connects to (5432 unless set).
func (u URL) Port() int { return int(u.cfg.Port) }

// Socket reports whether pgx connects through a unix socket.
func (u URL) Socket() bool { return isSocket(u.Host()) }

func isSocket(host string) bool {
	network, _ := pgconn.NetworkAddress(host, 5432)
	return network == "unix"
}

// Local reports whether every host pgx may connect to is on this machine:
// a unix socket or a loopback address (localhost, 127.0.0.0/8, ::1).
func (u URL) Local() bool { return len(u.NonLocal()) == 0 }

// NonLocal lists the hosts pgx may connect to that are not on this machine.
func (u URL) NonLocal() []string {
	var far []string
	for _, h := range u.Hosts() {
		if !isSocket(h) && !strings.EqualFold(h, "localhost") {
			if ip := net.ParseIP(h); ip == nil || !ip.IsLoopback() {
				far = append(far, h)
			}
		}
	}
	return far
}

// Addr names the target for messages: host:port/db for each host pgx may
// connect to, no credentials.
func (u URL) Addr() string {
	servers := u.servers()
	for i := range servers {
		servers[i] += "/" + u.Database()
	}
	return strings.Join(servers, ",")
}

// Server names the server(s) for messages: host:port for each host pgx may
// connect to.
func (u URL) Server() string { return strings.Join(u.servers(), ",") }

func (u URL) servers() []string {
	var out []string
	seen := map[string]bool{}
	add := func(h string, port uint16) {
		if u.hostaddr != "" {
			h = u.hostaddr
		}
		if strings.Contains(h, ":") && !isSocket(h) {
			h = "[" + h + "]"
		}
		s := h + ":" + strconv.Itoa(int(port))
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	add(u.cfg.Host, u.cfg.Port)
	for _, fb := range u.cfg.Fallbacks {
		add(fb.Host, fb.Port)
	}
	return out
}

// WithDatabase returns the URL pointing at another database.
func (u URL) WithDatabase(name string) URL {
	c := u.clone()
	c.Path = "/" + name
	c.RawPath = ""
	q := c.Query()
	if q.Has("dbname") {
		q.Del("dbname")
		c.RawQuery = encode(q)
	}
	return u.derive(c)
}

// WithHostPort returns the URL pointing at host:port over TCP (a host=,
// hostaddr= or port= parameter is dropped).
func (u URL) WithHostPort(host string, port int) URL {
	c := u.clone()
	c.Host = net.JoinHostPort(host, strconv.Itoa(port))
	q := c.Query()
	if q.Has("host") || q.Has("hostaddr") || q.Has("port") {
		q.Del("host")
		q.Del("hostaddr")
		q.Del("port")
		c.RawQuery = encode(q)
	}
	return u.derive(c)
}

// WithParam returns the URL with a query parameter set.
func (u URL) WithParam(key, value string) URL {
	c := u.clone()
	q := c.Query()
	q.Set(key, value)
	c.RawQuery = encode(q)
	return u.derive(c)
}

// encode is q as a URL query that libpq and pgx read back as it was: they
// decode %XX only, so a space must not become '+' (url.Values.Encode's
// form encoding), or options=-c search_path=x would reach the server as
// "-c+search_path=x".
func encode(q url.Values) string { return strings.ReplaceAll(q.Encode(), "+", "%20") }

// driverString is u without golang-migrate's x-* parameters, which pgx
// would send to the server as unknown settings.
func driverString(u *url.URL) string {
	c := *u
	q := c.Query()
	changed := false
	for k := range q {
		if strings.HasPrefix(k, "x-") {
			q.Del(k)
			changed = true
		}
	}
	if changed {
		c.RawQuery = encode(q)
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
