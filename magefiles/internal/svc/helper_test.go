package svc

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
)

// The test binary doubles as the services under test: SVC_HELPER selects a
// mode. Every helper records its pid in $PIDS, so tests can check that
// nothing is left behind, and exits on its own after two minutes, so a
// failed test never leaks a process for long.
func TestMain(m *testing.M) {
	if mode := os.Getenv("SVC_HELPER"); mode != "" {
		go func() { time.Sleep(2 * time.Minute); os.Exit(7) }()
		if dir := os.Getenv("PIDS"); dir != "" {
			_ = os.WriteFile(filepath.Join(dir, strconv.Itoa(os.Getpid())), nil, 0o644)
		}
		helper(mode)
		return
	}
	os.Exit(m.Run())
}

func helper(mode string) {
	switch mode {
	case "serve":
		serve()
	case "sleep":
		signal.Ignore(syscall.SIGINT, syscall.SIGTERM)
		time.Sleep(time.Hour)
	case "start": // Start two services (b after a), then wait to be killed
		ports := strings.Split(os.Getenv("PORTS"), ",")
		pa, _ := strconv.Atoi(ports[0])
		pb, _ := strconv.Atoi(ports[1])
		s := &Supervisor{R: run.New(run.Options{Env: os.Environ()}), RunDir: os.Getenv("RUN_DIR"), LogDir: os.Getenv("LOG_DIR")}
		specs := []Spec{
			helperSpec("a", pa, os.Getenv("PIDS"), "IGNORE_TERM=1", "CHILD=1"),
			helperSpec("b", pb, os.Getenv("PIDS")),
		}
		specs[1].After = []string{"a"}
		if err := s.Start(context.Background(), specs); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		time.Sleep(time.Hour)
	default:
		fmt.Fprintln(os.Stderr, "unknown SVC_HELPER mode", mode)
		os.Exit(2)
	}
}

// helperSpec is a service run by this test binary in "serve" mode.
func helperSpec(name string, port int, pids string, env ...string) Spec {
	exe, err := os.Executable()
	if err != nil {
		panic(err)
	}
	return Spec{
		Name: name,
		Port: port,
		Cmd: run.Cmd{Argv: []string{exe}, Dir: os.TempDir(), Env: append([]string{
			"SVC_HELPER=serve", "PIDS=" + pids, "PORT=" + strconv.Itoa(port), "SERVICE=" + name,
		}, env...)},
		Timeout: 60 * time.Second,
	}
}

// serve is a /health server whose behaviour the environment sets:
//
//	PORT, SERVICE    where to listen, the "service" it reports
//	CODE             the status code (default 200; "unhealthy" unless 200)
//	INSTANCE=i       report instance i instead of the one it was given
//	REDIRECT=1       answer 301 instead
//	EXIT=n           print "fatal: boom" and exit n at once
//	TOUCH=f          create f at startup
//	WAIT_FILE=f      listen only once f exists
//	REQUIRE=url      exit 3 unless url answers 200 at startup
//	IGNORE_TERM=1    ignore SIGTERM (only SIGKILL stops it)
//	CHILD=1          start a grandchild that ignores SIGTERM too
func serve() {
	env := os.Getenv
	fmt.Println("serve starting:", env("SERVICE"))
	if env("IGNORE_TERM") == "1" {
		signal.Ignore(syscall.SIGTERM)
	}
	if env("CHILD") == "1" {
		gc := exec.Command(os.Args[0])
		gc.Env = append(os.Environ(), "SVC_HELPER=sleep")
		if err := gc.Start(); err != nil {
			fatal(1, err)
		}
	}
	if f := env("TOUCH"); f != "" {
		_ = os.WriteFile(f, nil, 0o644)
	}
	for f := env("WAIT_FILE"); f != ""; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(f); err == nil {
			break
		}
	}
	if u := env("REQUIRE"); u != "" {
		resp, err := http.Get(u)
		if err != nil {
			fatal(3, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			fatal(3, fmt.Errorf("%s answered %d", u, resp.StatusCode))
		}
	}
	if code := env("EXIT"); code != "" {
		n, _ := strconv.Atoi(code)
		fatal(n, fmt.Errorf("boom"))
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+env("PORT"))
	if err != nil {
		fatal(1, err)
	}
	fmt.Println("listening on", l.Addr())
	code := http.StatusOK
	if c := env("CODE"); c != "" {
		code, _ = strconv.Atoi(c)
	}
	_ = http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if env("REDIRECT") == "1" {
			http.Redirect(w, r, "https://example.invalid/login", http.StatusMovedPermanently)
			return
		}
		status := "healthy"
		if code != http.StatusOK {
			status = "unhealthy"
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		instance := env(InstanceEnv)
		if i := env("INSTANCE"); i != "" {
			instance = i
		}
		fmt.Fprintf(w, `{"status":%q,"service":%q,"version":"0.0.0","instance":%q}`, status, env("SERVICE"), instance)
	}))
}

func fatal(code int, err error) {
	fmt.Fprintln(os.Stderr, "fatal:", err)
	os.Exit(code)
}
