package env

import (
	"regexp"
	"sort"
	"strings"
)

// Mask replaces every hidden value.
const Mask = "***"

var (
	// urlPassword matches scheme://user:password@ up to the last '@' of the
	// authority, so raw '@' in a password is hidden too.
	urlPassword = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^:/?#@\s]*:)[^\s/?#]*@`)
	// queryPassword matches password=value in a URL's query string.
	queryPassword = regexp.MustCompile(`(?i)([?&][A-Za-z0-9_]*password=)[^&#\s]*`)
	// dsnPassword matches password=value in keyword DSNs (and XXX_PASSWORD=
	// assignments), with quoted values as libpq writes them.
	dsnPassword = regexp.MustCompile(`(?i)((?:^|[\s"'])[A-Za-z0-9_]*password\s*=\s*)(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^\s'"]*)`)
)

// minSecretLen is the shortest secret value Redactor replaces literally;
// shorter values would garble unrelated output.
const minSecretLen = 4

// Redact hides passwords in s: in URLs with userinfo
// (postgresql://u:pw@h → postgresql://u:***@h), in their password=
// query parameters and in keyword DSNs (host=h password=pw).
func Redact(s string) string {
	s = urlPassword.ReplaceAllString(s, "${1}"+Mask+"@")
	s = queryPassword.ReplaceAllString(s, "${1}"+Mask)
	return dsnPassword.ReplaceAllString(s, "${1}"+Mask)
}

// Redactor returns Redact extended to replace the literal values of the
// secret variables set in e when it is called (longest first) with ***.
// Values shorter than minSecretLen are left alone.
func (e *Env) Redactor() func(string) string {
	var secrets []string
	for k, v := range e.vars {
		if IsSecret(k) && len(v.Value) >= minSecretLen {
			secrets = append(secrets, v.Value)
		}
	}
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	return func(s string) string {
		for _, v := range secrets {
			s = strings.ReplaceAll(s, v, Mask)
		}
		return Redact(s)
	}
}
