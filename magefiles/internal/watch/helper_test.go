package watch

import (
	"fmt"
	"os"
	"os/exec"
	"time"
)

// helper is the child a test check runs. "tree" starts a grandchild
// ("sleep"), appends "<its pid> <grandchild pid>" to PID_FILE and sleeps a
// minute: only the runner stopping the process group ends them in time.
func helper(mode string) {
	switch mode {
	case "tree":
		gc := exec.Command(os.Args[0])
		gc.Env = append(os.Environ(), "WATCH_HELPER=sleep")
		if err := gc.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(9)
		}
		f, err := os.OpenFile(os.Getenv("PID_FILE"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			os.Exit(9)
		}
		fmt.Fprintf(f, "%d %d\n", os.Getpid(), gc.Process.Pid)
		f.Close()
		time.Sleep(time.Minute)
	case "sleep":
		time.Sleep(time.Minute)
	}
}
