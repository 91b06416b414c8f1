package run

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the child process: RUN_HELPER selects a mode.
func TestMain(m *testing.M) {
	if mode := os.Getenv("RUN_HELPER"); mode != "" {
		helper(mode)
		return
	}
	os.Exit(m.Run())
}

func helper(mode string) {
	switch mode {
	case "spawn": // start a grandchild, record both pids, then hang
		if os.Getenv("IGNORE_SIGNALS") == "1" {
			signal.Ignore(syscall.SIGINT, syscall.SIGTERM)
		}
		gc := exec.Command(os.Args[0])
		gc.Env = append(os.Environ(), "RUN_HELPER=sleep")
		gc.Stdout = os.Stdout // holds the pipe, like a real grandchild would
		if err := gc.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(9)
		}
		pids := fmt.Sprintf("%d %d\n", os.Getpid(), gc.Process.Pid)
		if err := os.WriteFile(os.Getenv("PID_FILE"), []byte(pids), 0o644); err != nil {
			os.Exit(9)
		}
		if os.Getenv("LEAVE") == "1" {
			os.Exit(0) // exit at once, leaving the grandchild behind
		}
		time.Sleep(time.Minute)
	case "sleep":
		signal.Ignore(syscall.SIGINT, syscall.SIGTERM)
		time.Sleep(time.Minute)
	case "exit":
		code, _ := strconv.Atoi(os.Getenv("CODE"))
		fmt.Println("stdout line")
		fmt.Fprintln(os.Stderr, "stderr line")
		os.Exit(code)
	case "printenv":
		fmt.Println(os.Getenv(os.Getenv("KEY")))
	case "touch":
		_ = os.WriteFile(os.Getenv("TOUCH"), nil, 0o644)
	}
}

// kill ends pid (SIGKILL on Unix) where a test must not leave it behind.
func kill(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}
