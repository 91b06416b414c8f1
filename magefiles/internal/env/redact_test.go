package env

import "testing"

func TestRedact(t *testing.T) {
	cases := []struct{ in, want string }{
		{"postgresql://tasker:tasker@localhost:5432/db", "postgresql://tasker:***@localhost:5432/db"},
		{"postgresql://tasker@localhost/db", "postgresql://tasker@localhost/db"},
		{"postgresql://localhost/db", "postgresql://localhost/db"},
		{"postgres://u:p%40ss%2Fw0rd@h/db", "postgres://u:***@h/db"},
		{"postgres://u:p@ss@h/db?x=1", "postgres://u:***@h/db?x=1"},
		{"postgres://:only@h", "postgres://:***@h"},
		{"https://x:tok$en!@github.com/o/r.git", "https://x:***@github.com/o/r.git"},
		{"connecting to postgresql://a:b@h1/d and redis://:c@h2:6379 now", "connecting to postgresql://a:***@h1/d and redis://:***@h2:6379 now"},
		{`DATABASE_URL="postgresql://a:secret@h/d"`, `DATABASE_URL="postgresql://a:***@h/d"`},
		{"host=localhost user=tasker password=secret dbname=x", "host=localhost user=tasker password=*** dbname=x"},
		{"host=h password = 'it\\'s secret' dbname=x", "host=h password = *** dbname=x"},
		{"PGPASSWORD=hunter2 psql", "PGPASSWORD=*** psql"},
		{"postgresql://h/db?user=u&password=pw&sslmode=off", "postgresql://h/db?user=u&password=***&sslmode=off"},
		{"http://localhost:8080/health", "http://localhost:8080/health"},
		{"no secrets here", "no secrets here"},
	}
	for _, c := range cases {
		if got := Redact(c.in); got != c.want {
			t.Errorf("Redact(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

func TestIsSecret(t *testing.T) {
	for key, want := range map[string]bool{
		"PGPASSWORD": true, "DB_PASSWORD": true, "API_KEY": true, "GITHUB_TOKEN": true,
		"AWS_SECRET_ACCESS_KEY": true, "CLIENT_SECRET": true, "password": true, "TOKEN": true,
		"DATABASE_URL": false, "MONKEY": false, "TASKER_ENV": false, "KEYBOARD": false, "RUST_LOG": false,
	} {
		if got := IsSecret(key); got != want {
			t.Errorf("IsSecret(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestRedactorHidesSecretValues(t *testing.T) {
	e := load(t, "MY_API_TOKEN=tok-123456\n", "PGPASSWORD=pg-pass-9", "SHORT_KEY=ab", "TASKER_ENV=test")
	got := e.Redactor()("psql -W pg-pass-9 -H tok-123456 postgresql://u:pw@h/d test ab")
	want := "psql -W *** -H *** postgresql://u:***@h/d test ab"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestRedactorSeesTargetValues(t *testing.T) {
	e := load(t, "")
	e.Set("SERVICE_TOKEN", "abcdefgh")
	if got := e.Redactor()("x abcdefgh"); got != "x ***" {
		t.Errorf("got %q", got)
	}
}
