package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/atomicfile"
)

// errNotFound: the store has no entry under that key.
var errNotFound = errors.New("not in the cache")

// Kinds of entries, named as in the Bazel remote cache's HTTP layout.
const (
	ac  = "ac"  // action results, by action key
	cas = "cas" // blobs, by the sha256 of their content
)

// store keeps action results and blobs: the local directory, or a remote
// HTTP cache.
type store interface {
	get(ctx context.Context, kind, hash string) ([]byte, error)
	put(ctx context.Context, kind, hash string, data []byte) error
	has(ctx context.Context, kind, hash string) (bool, error)
}

// Dir is the local store: <dir>/ac/<key> and <dir>/cas/<sha256>, the same
// layout as the remote one.
type Dir string

func (d Dir) path(rel ...string) string { return filepath.Join(append([]string{string(d)}, rel...)...) }

func (d Dir) get(_ context.Context, kind, hash string) ([]byte, error) {
	b, err := os.ReadFile(d.path(kind, hash))
	if errors.Is(err, os.ErrNotExist) {
		return nil, errNotFound
	}
	if err == nil {
		now := time.Now()
		os.Chtimes(d.path(kind, hash), now, now) // used: trim keeps it longer
	}
	return b, err
}

// trim removes the least recently used entries (results and blobs alike,
// by modification time, which get refreshes) until the store holds at
// most three quarters of max bytes; it does nothing while under max. A
// result whose blob went is a miss that runs the step, never a wrong hit.
func (d Dir) trim(max int64) error {
	type entry struct {
		path string
		size int64
		used time.Time
	}
	var all []entry
	var total int64
	for _, kind := range []string{ac, cas} {
		des, err := os.ReadDir(d.path(kind))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		for _, de := range des {
			fi, err := de.Info()
			if err != nil || !fi.Mode().IsRegular() {
				continue
			}
			all = append(all, entry{d.path(kind, de.Name()), fi.Size(), fi.ModTime()})
			total += fi.Size()
		}
	}
	if total <= max {
		return nil
	}
	sort.Slice(all, func(i, j int) bool { return all[i].used.Before(all[j].used) })
	for _, e := range all {
		if total <= max/4*3 {
			break
		}
		if err := os.Remove(e.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		total -= e.size
	}
	return nil
}

// parseSize reads a byte count with an optional K, M or G suffix (powers
// of 1024).
func parseSize(v string) (int64, error) {
	v = strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(v)), "B")
	mult := int64(1)
	switch {
	case strings.HasSuffix(v, "K"):
		mult, v = 1<<10, strings.TrimSuffix(v, "K")
	case strings.HasSuffix(v, "M"):
		mult, v = 1<<20, strings.TrimSuffix(v, "M")
	case strings.HasSuffix(v, "G"):
		mult, v = 1<<30, strings.TrimSuffix(v, "G")
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("not a size")
	}
	return n * mult, nil
}

func (d Dir) put(_ context.Context, kind, hash string, data []byte) error {
	return atomicfile.WriteFile(d.path(kind, hash), data, 0o644)
}

func (d Dir) has(_ context.Context, kind, hash string) (bool, error) {
	_, err := os.Stat(d.path(kind, hash))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// Remote is a cache server speaking the Bazel remote cache's HTTP protocol
// (GET, PUT and HEAD on /ac/<key> and /cas/<sha256>): bazel-remote, or any
// HTTP store that accepts PUT (nginx with WebDAV, S3 behind a proxy).
type Remote struct {
	base   string        // the URL without credentials or trailing slash
	user   *url.Userinfo // basic auth, sent in a header, never printed
	Write  bool          // upload results (CI on main); reads only otherwise
	client *http.Client
}

// NewRemote parses the cache URL; credentials in it become basic auth.
// An unusable URL is an error that never contains the password.
func NewRemote(raw string, write bool, timeout time.Duration) (*Remote, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("not an http:// or https:// URL")
	}
	r := &Remote{user: u.User, Write: write, client: &http.Client{Timeout: timeout}}
	u.User = nil
	r.base = strings.TrimSuffix(u.String(), "/")
	return r, nil
}

// String is the URL without credentials.
func (r *Remote) String() string { return r.base }

func (r *Remote) do(ctx context.Context, method, kind, hash string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, r.base+"/"+kind+"/"+hash, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if body == nil {
		req.Body, req.ContentLength = nil, 0
	}
	if r.user != nil {
		pw, _ := r.user.Password()
		req.SetBasicAuth(r.user.Username(), pw)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is in our own message already
		}
		return nil, fmt.Errorf("%s %s/%s/…: %w", method, r.base, kind, err)
	}
	return resp, nil
}

func (r *Remote) get(ctx context.Context, kind, hash string) ([]byte, error) {
	resp, err := r.do(ctx, http.MethodGet, kind, hash, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, errNotFound
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("GET %s/%s/…: %s", r.base, kind, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

func (r *Remote) put(ctx context.Context, kind, hash string, data []byte) error {
	resp, err := r.do(ctx, http.MethodPut, kind, hash, data)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("PUT %s/%s/…: %s", r.base, kind, resp.Status)
	}
	return nil
}

func (r *Remote) has(ctx context.Context, kind, hash string) (bool, error) {
	resp, err := r.do(ctx, http.MethodHead, kind, hash, nil)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
		return true, nil
	case resp.StatusCode == http.StatusNotFound:
		return false, nil
	}
	return false, fmt.Errorf("HEAD %s/%s/…: %s", r.base, kind, resp.Status)
}
