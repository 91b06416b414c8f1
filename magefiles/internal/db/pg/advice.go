package pg

import (
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// extensionOf maps objects of well-known extensions (functions, types,
// operator classes, schemas) to the extension that provides them.
var extensionOf = map[string]string{}

func init() {
	for ext, objects := range map[string][]string{
		"uuid-ossp":          {"uuid_generate_v1", "uuid_generate_v1mc", "uuid_generate_v3", "uuid_generate_v4", "uuid_generate_v5", "uuid_nil", "uuid_ns_dns", "uuid_ns_url", "uuid_ns_oid", "uuid_ns_x500"},
		"pgcrypto":           {"digest", "hmac", "crypt", "gen_salt", "gen_random_bytes", "encrypt", "decrypt", "pgp_sym_encrypt", "pgp_sym_decrypt", "pgp_pub_encrypt", "pgp_pub_decrypt", "armor", "dearmor"},
		"citext":             {"citext"},
		"hstore":             {"hstore"},
		"ltree":              {"ltree", "lquery", "ltxtquery"},
		"pg_trgm":            {"similarity", "word_similarity", "strict_word_similarity", "show_trgm", "gin_trgm_ops", "gist_trgm_ops"},
		"unaccent":           {"unaccent"},
		"fuzzystrmatch":      {"levenshtein", "soundex", "difference", "metaphone", "dmetaphone"},
		"cube":               {"cube"},
		"earthdistance":      {"earth", "ll_to_earth", "earth_distance", "earth_box"},
		"tablefunc":          {"crosstab", "normal_rand", "connectby"},
		"pg_stat_statements": {"pg_stat_statements", "pg_stat_statements_reset"},
		"vector":             {"vector", "halfvec", "sparsevec", "vector_cosine_ops", "vector_l2_ops", "vector_ip_ops"},
		"postgis":            {"geometry", "geography", "box2d", "box3d"},
		"pgmq":               {"pgmq"},
		"pg_uuidv7":          {"uuid_generate_v7", "uuid_v7_to_timestamptz", "uuid_timestamptz_to_v7"},
	} {
		for _, o := range objects {
			extensionOf[o] = ext
		}
	}
}

// missingObject codes: undefined_function, undefined_object, invalid_schema_name.
var missingObject = map[string]bool{"42883": true, "42704": true, "3F000": true}

// FixFor is the fix a failed migration's report gives. When the file uses a
// function, type, operator class or schema that does not exist, the file
// is not wrong so much as early: it says what is missing and that an
// extension may provide it, naming the extension when the object is a
// well-known one's. Otherwise: correct the file. retry is the command to
// run afterwards.
func FixFor(err error, file, retry string) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "0A000" { // feature_not_supported: CREATE EXTENSION run by a DO block
		if ext, ok := strings.CutPrefix(pe.Message, `extension "`); ok && strings.HasSuffix(ext, `" is not available`) {
			ext = strings.TrimSuffix(ext, `" is not available`)
			return fmt.Sprintf("the server does not have the extension %s: %s; then run %s", ext, InstallHint(ext, 0), retry)
		}
	}
	if pe == nil || !missingObject[pe.Code] {
		return fmt.Sprintf("correct %s, then run %s", file, retry)
	}
	name := missingName(pe.Message)
	if name == "uuidv7" {
		return fmt.Sprintf("uuidv7() is built into PostgreSQL 18; older servers need the extension pg_uuidv7 (its uuid_generate_v7()): %s; then run %s", InstallHint("pg_uuidv7", 0), retry)
	}
	if ext := knownExtension(name); ext != "" {
		return fmt.Sprintf("%s comes from the extension %s: add CREATE EXTENSION IF NOT EXISTS %s; before its first use (in this file or an earlier migration), then run %s (if the server does not have it: %s)",
			name, ext, Ident(ext), retry, InstallHint(ext, 0))
	}
	return fmt.Sprintf("%s: create it in an earlier migration (or earlier in this file), or, if an extension provides it, add CREATE EXTENSION IF NOT EXISTS <extension>; before its first use; then run %s",
		pe.Message, retry)
}

// missingName is the object a "does not exist" message names: function
// f(args), or the first quoted name.
func missingName(msg string) string {
	for _, kind := range []string{"function ", "procedure "} {
		if rest, ok := strings.CutPrefix(msg, kind); ok {
			name, _, _ := strings.Cut(rest, "(")
			return strings.ToLower(name)
		}
	}
	if _, rest, ok := strings.Cut(msg, `"`); ok {
		name, _, _ := strings.Cut(rest, `"`)
		return strings.ToLower(name)
	}
	return ""
}

// knownExtension finds the extension of name, schema-qualified or not.
func knownExtension(name string) string {
	if ext := extensionOf[name]; ext != "" {
		return ext
	}
	schema, object, qualified := strings.Cut(name, ".")
	switch {
	case !qualified:
	case extensionOf[object] != "":
		return extensionOf[object]
	case extensionOf[schema] != "":
		return extensionOf[schema]
	}
	if strings.HasPrefix(name, "st_") {
		return "postgis"
	}
	return ""
}
