package svc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// ProbeError says why a service is not healthy.
type ProbeError struct {
	Answered bool   // false: nothing answered (connection refused, timeout)
	Reason   string // "HTTP 301 redirect to ...", `reports service "x", want "y"`, ...
}

func (e *ProbeError) Error() string { return e.Reason }

// probeClient follows no redirects (a 301 from whatever holds the port is not
// a healthy service), uses no proxy and keeps no connections open.
var probeClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Transport:     &http.Transport{Proxy: nil, DisableKeepAlives: true},
}

// InstanceEnv is the variable a spawned service gets its instance token
// in; its /health echoes it as "instance", proving the answer comes from
// the process this start spawned, not from another start's.
const InstanceEnv = "TASKER_INSTANCE"

// Probe GETs url once. It returns nil only for a healthy service: HTTP 200
// and a JSON body with "status":"healthy", "service" equal to service and,
// when instance is not empty, "instance" equal to it. Otherwise the error is
// a *ProbeError.
func Probe(ctx context.Context, url, service, instance string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return &ProbeError{Reason: transportReason(err)}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	bad := func(format string, args ...any) error {
		return &ProbeError{Answered: true, Reason: fmt.Sprintf(format, args...)}
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return bad("HTTP %d redirect to %q (redirects are not followed: something else holds the port?)", resp.StatusCode, resp.Header.Get("Location"))
	}
	var report struct {
		Status   string `json:"status"`
		Service  string `json:"service"`
		Instance string `json:"instance"`
	}
	if err := json.Unmarshal(body, &report); err != nil {
		return bad("HTTP %d with a body that is not JSON: %q", resp.StatusCode, snippet(body))
	}
	switch {
	case report.Service != service:
		return bad("HTTP %d from service %q, want %q", resp.StatusCode, report.Service, service)
	case instance != "" && report.Instance != instance:
		return bad("HTTP %d from another %s (instance %q, not the one this start spawned): another start's?", resp.StatusCode, service, report.Instance)
	case resp.StatusCode != http.StatusOK:
		return bad("HTTP %d, status %q: %s", resp.StatusCode, report.Status, snippet(body))
	case report.Status != "healthy":
		return bad("HTTP 200 but status %q", report.Status)
	}
	return nil
}

// transportReason shortens "Get \"http://...\": dial tcp ...: connect: connection refused".
func transportReason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "no answer (timed out)"
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return msg
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
