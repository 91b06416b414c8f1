package toolchain

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/tasker-systems/tasker-build/magefiles/internal/fail"
	"github.com/tasker-systems/tasker-build/magefiles/internal/run"
	"github.com/tasker-systems/tasker-build/magefiles/internal/testkit"
)

// index is a PyPI simple index on loopback serving one project's wheels,
// as JSON (PEP 691) or HTML (PEP 503).
type index struct {
	*httptest.Server
	files map[string][]byte // file name → content
	html  bool
	hits  int // wheel downloads
}

func newIndex(t *testing.T, project string, html bool) *index {
	ix := &index{files: map[string][]byte{}, html: html}
	mux := http.NewServeMux()
	mux.HandleFunc("/simple/"+project+"/", func(w http.ResponseWriter, r *http.Request) {
		var links []string
		for name := range ix.files {
			links = append(links, "../../files/"+name)
		}
		if ix.html {
			w.Header().Set("Content-Type", "text/html")
			for _, l := range links {
				fmt.Fprintf(w, `<a href="%s#sha256=x">%s</a>`+"\n", l, filepath.Base(l))
			}
			return
		}
		w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
		var files []string
		for _, l := range links {
			files = append(files, fmt.Sprintf(`{"filename":%q,"url":%q}`, filepath.Base(l), l))
		}
		fmt.Fprintf(w, `{"files":[%s]}`, strings.Join(files, ","))
	})
	mux.HandleFunc("/files/", func(w http.ResponseWriter, r *http.Request) {
		ix.hits++
		b, ok := ix.files[filepath.Base(r.URL.Path)]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	})
	ix.Server = httptest.NewServer(mux)
	t.Cleanup(ix.Close)
	return ix
}

// wheelOf builds a wheel holding bin as a script that prints version.
func wheelOf(t *testing.T, w *Wheel, bin, version string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	f, err := zw.Create(w.dist() + "-" + w.Version + ".data/scripts/" + bin)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "#!/bin/sh\necho %s %s\n", bin, version)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// register adds tool to the registry for the test.
func register(t *testing.T, tool Tool) {
	saved := Tools
	Tools = append(append([]Tool(nil), Tools...), tool)
	t.Cleanup(func() { Tools = saved })
}

func here() Platform { return Platform{GOOS: runtime.GOOS, GOARCH: runtime.GOARCH, Root: true} }

func platformKey() string { return runtime.GOOS + "/" + runtime.GOARCH }

// A prebuilt tool is downloaded from the index, checked against its pinned
// hash and installed into .tasker/tools/bin with a receipt; a later pin of
// another version replaces it.
func TestInstallWheel(t *testing.T) {
	for _, html := range []bool{false, true} {
		t.Run(fmt.Sprintf("html=%v", html), func(t *testing.T) {
			ix := newIndex(t, "fake-tool", html)
			w := &Wheel{Project: "fake-tool", Version: "1.0.0"}
			tool := Tool{Name: "fake-tool", Bin: "fake-tool", VersionArgs: version, Area: "rust", Source: Source{Wheel: w, Cargo: "fake-tool"}}
			register(t, tool)
			body := wheelOf(t, w, "fake-tool", "1.0.0")
			w.SHA256 = map[string]string{platformKey(): sum(body)}
			ix.files[w.For(here()).Name] = body

			root := t.TempDir()
			in := &Installer{Dir: filepath.Join(root, ".tasker", "tools"), Index: ix.URL + "/simple/", Root: root, Platform: here()}
			out := &testkit.SyncBuffer{}
			r := run.New(run.Options{Stdout: out, Stderr: out})
			path := "/nonexistent" + string(os.PathListSeparator) + in.BinDir()
			if err := in.Install(context.Background(), r, path, "fake-tool"); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			got, err := r.Output(context.Background(), run.Cmd{Argv: []string{filepath.Join(in.BinDir(), "fake-tool")}, Dir: root})
			if err != nil || got != "fake-tool 1.0.0" {
				t.Fatalf("installed binary says %q, %v", got, err)
			}
			if rc := in.receipt(tool); rc.Version != "1.0.0" || !strings.Contains(rc.From, "PyPI fake-tool 1.0.0") {
				t.Errorf("receipt %+v", rc)
			}
			if !strings.Contains(out.String(), "installing fake-tool 1.0.0: prebuilt from PyPI") {
				t.Errorf("no progress line:\n%s", out)
			}
			// Installed and current: nothing is downloaded again.
			if err := in.Install(context.Background(), r, path, "fake-tool"); err != nil || ix.hits != 1 {
				t.Fatalf("second install: %v, %d downloads", err, ix.hits)
			}
			// The pin moves on: the old binary counts as missing and is replaced.
			w.Version = "1.1.0"
			body = wheelOf(t, w, "fake-tool", "1.1.0")
			w.SHA256 = map[string]string{platformKey(): sum(body)}
			ix.files[w.For(here()).Name] = body
			if err := in.Install(context.Background(), r, path, "fake-tool"); err != nil {
				t.Fatal(err)
			}
			if got, _ := r.Output(context.Background(), run.Cmd{Argv: []string{filepath.Join(in.BinDir(), "fake-tool")}, Dir: root}); got != "fake-tool 1.1.0" {
				t.Fatalf("after the pin moved: %q", got)
			}
		})
	}
}

// A wheel whose hash is not the pinned one is refused and leaves nothing
// behind; the index's credentials never appear in a message.
func TestInstallWheelRefusesAnotherHash(t *testing.T) {
	ix := newIndex(t, "fake-tool", false)
	w := &Wheel{Project: "fake-tool", Version: "1.0.0", SHA256: map[string]string{platformKey(): strings.Repeat("0", 64)}}
	register(t, Tool{Name: "fake-tool", Bin: "fake-tool", VersionArgs: version, Area: "rust", Source: Source{Wheel: w, Cargo: "fake-tool"}})
	ix.files[w.For(here()).Name] = wheelOf(t, w, "fake-tool", "1.0.0")

	root := t.TempDir()
	index := strings.Replace(ix.URL, "http://", "http://user:s3cret@", 1) + "/simple/"
	in := &Installer{Dir: filepath.Join(root, "tools"), Index: index, Root: root, Platform: here()}
	out := &testkit.SyncBuffer{}
	r := run.New(run.Options{Stdout: out, Stderr: out})
	err := in.Install(context.Background(), r, "/nonexistent", "fake-tool")
	if fail.Code(err) != fail.MissingTool || !strings.Contains(err.Error(), "is pinned: refusing it") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error()+out.String(), "s3cret") {
		t.Errorf("the index password leaked: %v\n%s", err, out)
	}
	entries, _ := os.ReadDir(in.BinDir())
	if len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}

// Outside setup and without CI=true, a missing tool is exit 3 with the
// exact commands; a dry run only says what it would install.
func TestNeedWithoutAutoNamesTheCommand(t *testing.T) {
	root := t.TempDir()
	in := &Installer{Dir: filepath.Join(root, "tools"), Index: "http://127.0.0.1:1/simple/", Root: root,
		Platform: Platform{GOOS: "linux", GOARCH: "amd64", PM: "apt"}}
	out := &testkit.SyncBuffer{}
	r := run.New(run.Options{Stdout: out, Stderr: out})
	err := in.Need(context.Background(), r, "/nonexistent", "rspec", "cargo-nextest")
	want := "missing tool rspec: install with `sudo apt-get install -y ruby-rspec` or `gem install rspec --version ~> 3.12`; " +
		"missing tool cargo-nextest: install with `mage install cargo-nextest` or `cargo install cargo-nextest --locked`"
	if fail.Code(err) != fail.MissingTool || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	if out.String() != "" {
		t.Errorf("printed %q", out)
	}
	// A dry run goes on where the real run would install (setup targets)
	// or where the plan's setup step provides the tool; elsewhere it stops
	// as the real run would.
	dry := run.New(run.Options{Stdout: out, Stderr: out, DryRun: true})
	if err := in.Install(context.Background(), dry, "/nonexistent", "rspec"); err != nil {
		t.Fatalf("dry-run setup: %v", err)
	}
	if err := in.Need(context.Background(), dry, "/nonexistent", "bun"); err != nil {
		t.Fatalf("dry run, bun: %v", err)
	}
	if err := in.Need(context.Background(), dry, "/nonexistent", "rspec"); fail.Code(err) != fail.MissingTool {
		t.Fatalf("dry run outside setup: %v", err)
	}
	for _, w := range []string{"dry run: rspec is missing; it would be installed with `sudo apt-get install -y ruby-rspec`", "dry run: bun is missing; mage typescript:setup installs it"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("dry run lacks %q:\n%s", w, out)
		}
	}
	if err := in.Need(context.Background(), r, "/nonexistent", "nope"); fail.Code(err) != fail.Config {
		t.Errorf("unknown tool: %v", err)
	}
}

// Not root and no password-less sudo: the build cannot install system
// packages, and says so with the command to run by hand.
func TestSystemInstallWithoutPrivilegeIsExit3(t *testing.T) {
	root := t.TempDir()
	bin := t.TempDir()
	sudo := "#!/bin/sh\necho 'sudo: a password is required' >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(bin, "sudo"), []byte(sudo), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	in := &Installer{Dir: filepath.Join(root, "tools"), Root: root, Platform: Platform{GOOS: "linux", GOARCH: "amd64", PM: "apt"}}
	out := &testkit.SyncBuffer{}
	r := run.New(run.Options{Stdout: out, Stderr: out, Env: []string{"PATH=" + bin}})
	err := in.Install(context.Background(), r, bin, "rspec")
	if fail.Code(err) != fail.MissingTool || !strings.Contains(err.Error(), "`sudo apt-get install -y ruby-rspec`") ||
		!strings.Contains(err.Error(), "mage cannot install it: not root, and sudo asks for a password") {
		t.Fatalf("err = %v\n%s", err, out)
	}
	if strings.Contains(out.String(), "apt-get") {
		t.Errorf("apt-get ran:\n%s", out)
	}
}
