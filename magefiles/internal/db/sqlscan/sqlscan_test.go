package sqlscan

import (
	"strconv"
	"strings"
	"testing"
)

// Nothing inside comments, strings, quoted identifiers, dollar quotes,
// parentheses or BEGIN ATOMIC bodies splits a statement or counts as one.
func TestSplitStepsOverQuotedText(t *testing.T) {
	sql := `-- COMMIT; in a comment
/* a block; /* nested; */ COMMIT; */
CREATE TABLE "odd;name" (note text DEFAULT 'it''s; COMMIT;');
INSERT INTO t VALUES (E'\'; COMMIT; \\', 'x');
DO $$ BEGIN PERFORM 1; COMMIT; END $$;
CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $fn$
BEGIN
  RETURN 1; -- $$ is no end here
END;
$fn$;
CREATE FUNCTION g(a int) RETURNS int LANGUAGE sql
BEGIN ATOMIC
  SELECT CASE WHEN a > 0 THEN 1 ELSE 0 END;
  SELECT a$b FROM t WHERE x = $1;
END;
CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2));
SELECT 1`
	got := Split(sql)
	var firsts []string
	for _, s := range got {
		firsts = append(firsts, s.Words[0]+"@"+strconv.Itoa(s.Line))
	}
	want := "CREATE@3 INSERT@4 DO@5 CREATE@6 CREATE@11 CREATE@16 SELECT@17"
	if strings.Join(firsts, " ") != want {
		t.Errorf("statements %s\nwant       %s", strings.Join(firsts, " "), want)
	}
	if p := Check(sql, false); len(p) != 0 {
		t.Errorf("problems in a clean file: %v", p)
	}
}

func TestCheckFindsWhatCannotRun(t *testing.T) {
	cases := []struct {
		sql  string
		noTx bool
		what string // "" = fine
		line int
	}{
		{"CREATE TABLE a (id int);\nCOMMIT;\n", false, "COMMIT", 2},
		{"BEGIN;\nCREATE TABLE a (id int);\nEND;\n", false, "BEGIN", 1},
		{"start transaction;", false, "START TRANSACTION", 1},
		{"SAVEPOINT s; ROLLBACK TO SAVEPOINT s;", false, "", 0},
		{"ROLLBACK;", false, "ROLLBACK", 1},
		{"\n\nCREATE INDEX CONCURRENTLY i ON t (x);", false, "CREATE INDEX CONCURRENTLY", 3},
		{"create unique index concurrently i on t (x);", false, "CREATE INDEX CONCURRENTLY", 1},
		{"CREATE INDEX i ON t (concurrently);", false, "", 0},
		{"DROP INDEX CONCURRENTLY i;", false, "DROP INDEX CONCURRENTLY", 1},
		{"REINDEX TABLE CONCURRENTLY t;", false, "REINDEX CONCURRENTLY", 1},
		{"REINDEX TABLE t;", false, "", 0},
		{"VACUUM ANALYZE t;", false, "VACUUM", 1},
		{"ALTER SYSTEM SET work_mem = '64MB';", false, "ALTER SYSTEM", 1},
		{"CREATE DATABASE other;", false, "CREATE DATABASE", 1},
		{"ALTER TABLE p DETACH PARTITION c CONCURRENTLY;", false, "DETACH PARTITION CONCURRENTLY", 1},
		{"CLUSTER;", false, "CLUSTER (every table)", 1},
		{"CLUSTER t USING i;", false, "", 0},
		// outside a transaction: fine alone, not with company
		{"-- no-transaction\nCREATE INDEX CONCURRENTLY i ON t (x);\n", true, "", 0},
		{"-- no-transaction\nCREATE TABLE t (x int);\nCREATE INDEX CONCURRENTLY i ON t (x);\n", true, "CREATE INDEX CONCURRENTLY", 3},
		{"-- no-transaction\nCOMMIT;\n", true, "COMMIT", 2},
	}
	for _, c := range cases {
		got := Check(c.sql, c.noTx)
		switch {
		case c.what == "" && len(got) > 0:
			t.Errorf("%q: %v", c.sql, got)
		case c.what != "" && (len(got) == 0 || got[0].What != c.what || got[0].Line != c.line):
			t.Errorf("%q: got %+v, want %s at line %d", c.sql, got, c.what, c.line)
		}
	}
}

// The extensions a file creates, as PostgreSQL names them; the ones a DO
// block or a comment mentions are not counted.
func TestExtensions(t *testing.T) {
	sql := `-- CREATE EXTENSION commented_out;
CREATE EXTENSION IF NOT EXISTS pgmq CASCADE;
create extension "uuid-ossp" with schema public;
CREATE EXTENSION IF NOT EXISTS "Odd""Name";
DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_uuidv7') THEN
    CREATE EXTENSION IF NOT EXISTS pg_uuidv7;
  END IF;
END $$;
CREATE EXTENSION Citext;`
	var got []string
	for _, e := range Extensions(sql) {
		got = append(got, e.Name+"@"+strconv.Itoa(e.Line))
	}
	if want := `pgmq@2 uuid-ossp@3 Odd"Name@4 citext@10`; strings.Join(got, " ") != want {
		t.Errorf("extensions %s, want %s", strings.Join(got, " "), want)
	}
	// a quoted identifier is a word: CLUSTER on one table is no CLUSTER of all
	if p := Check(`CLUSTER "Tasks";`, false); len(p) != 0 {
		t.Errorf("CLUSTER \"Tasks\": %v", p)
	}
}
