package db

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/db/cluster"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/dbtest"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pg"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/pgurl"
	"github.com/tasker-systems/tasker-build/magefiles/internal/db/template"
)

// The benchmarks use the repository's own migrations (db/migrations), or
// the test schema when they are absent.
func benchConfig(b *testing.B, db string) *Config {
	c, _, _ := config(b, db, schema)
	if _, err := os.Stat("../../../db/migrations"); err == nil {
		c.MigrationsDir, _ = filepath.Abs("../../../db/migrations")
	}
	return c
}

func msPerOp(b *testing.B, start time.Time) {
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/op")
}

// db:up from nothing: initdb, start, create role and database.
func BenchmarkUpFromNothing(b *testing.B) {
	ctx := context.Background()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		base, _ := os.MkdirTemp(dbtest.BaseDir(), "tasker-dbtest-bench-")
		os.Chmod(base, 0o755)
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		u := url.URL{Scheme: "postgresql", User: url.UserPassword("bench", "B3nch-pw"), Host: "127.0.0.1:" + strconv.Itoa(port), Path: "/bench"}
		cl := &cluster.Cluster{Dir: filepath.Join(base, "pg"), Run: dbtest.Runner()}
		c := &Config{URL: pgurl.MustParse(u.String()), TaskerEnv: "test", Cluster: cl, Log: &dbtest.Log{}}
		b.StartTimer()
		start := time.Now()
		if _, err := c.Up(ctx); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		b.StopTimer()
		cl.Destroy(ctx)
		os.RemoveAll(base)
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/op")
}

// db:reset: DROP DATABASE WITH (FORCE), CREATE, migrate.
func BenchmarkReset(b *testing.B) {
	ctx := context.Background()
	c := benchConfig(b, "bench_reset")
	if _, err := c.Setup(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Drop(ctx) })
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := c.Reset(ctx); err != nil {
			b.Fatal(err)
		}
	}
	msPerOp(b, start)
}

// A per-test database the slow way: CREATE DATABASE + migrate.
func BenchmarkFreshCreateMigrate(b *testing.B) {
	ctx := context.Background()
	c := benchConfig(b, "bench_fresh")
	admin, err := pg.Connect(ctx, srv.URL("postgres"), 5*time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close(ctx)
	var total time.Duration
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("bench_fresh_%d", i)
		start := time.Now()
		if err := pg.CreateDatabase(ctx, admin, name, dbtest.User, "", ""); err != nil {
			b.Fatal(err)
		}
		if _, err := c.migrate(ctx, srv.URL(name)); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		b.StopTimer()
		pg.DropDatabase(ctx, admin, name)
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/op")
}

// A per-test database from the template: CREATE DATABASE ... TEMPLATE.
func BenchmarkTemplateClone(b *testing.B) {
	ctx := context.Background()
	c := benchConfig(b, "bench_clone_main")
	info, err := c.Template(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var total time.Duration
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("bench_clone_%d", i)
		start := time.Now()
		if _, err := template.Clone(ctx, info.Admin, info.Name, name); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		b.StopTimer()
		template.DropClone(ctx, info.Admin, name)
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/op")
}
