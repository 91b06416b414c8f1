package svc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"text/tabwriter"
	"time"
)

// Health values in a status Row.
const (
	Healthy    = "healthy"     // answers /health as expected
	Unhealthy  = "unhealthy"   // answers, but not healthy (or not as this service)
	Down       = "down"        // has a pid file, but the process is gone or nothing answers
	NotRunning = "not running" // no pid file
)

// Row is one service in the status table.
type Row struct {
	Service string
	Pid     int // 0 when not running
	Port    int
	Health  string
	Detail  string        // why it is not healthy
	Uptime  time.Duration // 0 when not running
}

// Status reports on the named services, or on every service with a pid
// file when names is empty. Named services without a pid file are listed as
// not running. It changes nothing.
func (s *Supervisor) Status(ctx context.Context, names ...string) ([]Row, error) {
	recs, missing, err := s.records(names)
	rows := make([]Row, len(recs))
	var wg sync.WaitGroup
	for i, rec := range recs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rows[i] = s.row(ctx, rec)
		}()
	}
	wg.Wait()
	for _, name := range missing {
		rows = append(rows, Row{Service: name, Health: NotRunning})
	}
	return rows, err
}

func (s *Supervisor) row(ctx context.Context, rec record) Row {
	r := Row{Service: rec.Name, Pid: rec.Pid, Port: rec.Port, Health: Down}
	switch identify(rec) {
	case gone:
		r.Detail = "process gone (stale pid file)"
		return r
	case foreign:
		r.Detail = fmt.Sprintf("pid %d now belongs to another process (stale pid file)", rec.Pid)
		return r
	case unverified:
		r.Detail = "pid file without a start time: cannot tell which process it means"
		return r
	case leftovers:
		r.Detail = "main process gone, some of its children are left; stop it"
		return r
	}
	r.Uptime = time.Since(rec.Started)
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	err := Probe(ctx, s.healthURL(rec.Port, rec.HealthPath), rec.Service, rec.Instance)
	var pe *ProbeError
	switch {
	case err == nil:
		r.Health = Healthy
	case errors.As(err, &pe) && pe.Answered:
		r.Health, r.Detail = Unhealthy, s.R.Redact(pe.Reason)
	default:
		r.Detail = s.R.Redact(err.Error())
	}
	return r
}

// PrintStatus writes rows as a table.
func PrintStatus(w io.Writer, rows []Row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "service\tpid\tport\thealth\tuptime\tdetail")
	for _, r := range rows {
		pid, port, up := "-", strconv.Itoa(r.Port), "-"
		if r.Pid > 0 {
			pid = strconv.Itoa(r.Pid)
		}
		if r.Port == 0 {
			port = "-"
		}
		if r.Uptime > 0 {
			up = uptime(r.Uptime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Service, pid, port, r.Health, up, r.Detail)
	}
	tw.Flush()
}

// uptime formats d as 42s, 12m03s or 3h12m.
func uptime(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}
