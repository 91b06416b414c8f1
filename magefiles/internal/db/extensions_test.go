package db

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
)

// An extension the server does not have stops the run before anything
// is applied: exit 3, naming the extension, the file and line that creates
// it and how to get it (issue #15: a SQL error half-way and "correct the
// file"). Extensions the server has (uuid-ossp, from contrib) pass.
func TestMissingExtensionsStopTheRunFirst(t *testing.T) {
	ctx := context.Background()
	pgmqAvailable, _ := query(t, srv.URL("postgres"), "SELECT count(*) FROM pg_available_extensions WHERE name = 'pgmq'")
	major, _ := query(t, srv.URL("postgres"), "SELECT current_setting('server_version_num')::int / 10000")
	server := "PostgreSQL " + strconv.Itoa(major)
	for _, layout := range []struct{ name, first, second string }{
		{"sqlx", "20250810140001_pgmq_extensions_and_headers.sql", "20250810140002_ids.sql"},
		{"migrate", "0001_pgmq_extensions_and_headers.up.sql", "0002_ids.up.sql"},
	} {
		t.Run(layout.name, func(t *testing.T) {
			c, _, _ := config(t, uniqueDB("ext"), map[string]string{
				layout.first:  "CREATE TABLE early (id int);\nCREATE EXTENSION IF NOT EXISTS pgmq CASCADE;\n",
				layout.second: "CREATE EXTENSION IF NOT EXISTS \"uuid-ossp\";\n-- tasker's own\nCREATE EXTENSION tasker_no_such_ext;\n",
			})
			c.Layout = layout.name
			t.Cleanup(func() { c.Allow = true; c.Drop(ctx) })
			err := c.Migrate(ctx)
			msg := fmt.Sprint(err)
			if fail.Code(err) != fail.MissingTool {
				t.Fatalf("code %d: %v", fail.Code(err), err)
			}
			wants := []string{layout.second + ":3 creates the extension tasker_no_such_ext, which " + server + " at " + c.URL.Server() + " does not have; install the package",
				"nothing was applied"}
			if pgmqAvailable == 0 {
				wants = append(wants, layout.first+":2 creates the extension pgmq, which "+server, "cd pgmq/pgmq-extension && make && sudo make install")
			}
			for _, w := range wants {
				if !strings.Contains(msg, w) {
					t.Errorf("lacks %q:\n%s", w, msg)
				}
			}
			if strings.Contains(msg, "uuid-ossp") {
				t.Errorf("an available extension is reported:\n%s", msg)
			}
			if n, _ := query(t, c.URL, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"); n != 0 {
				t.Errorf("%d tables made before the check", n)
			}
		})
	}
}
