package svc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// followPoll is how often Logs looks for new lines in follow mode.
const followPoll = 250 * time.Millisecond

// Logs writes the last n lines of the named services' logs (every log when
// names is empty), with a header per service when there are several. With
// follow it then writes new lines as they are appended, prefixed with the
// service name when there are several, until ctx ends. Lines are redacted.
func (s *Supervisor) Logs(ctx context.Context, w io.Writer, n int, follow bool, names ...string) error {
	if len(names) == 0 {
		paths, _ := filepath.Glob(filepath.Join(s.LogDir, "*.log"))
		for _, p := range paths {
			names = append(names, strings.TrimSuffix(filepath.Base(p), ".log"))
		}
		sort.Strings(names)
		if len(names) == 0 {
			fmt.Fprintf(w, "no service logs in %s\n", s.LogDir)
			return nil
		}
	}
	many := len(names) > 1
	followers := make([]*follower, len(names))
	for i, name := range names {
		path := s.logPath(name)
		lines, end, err := tailEnd(path, 0, n)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if many {
			fmt.Fprintf(w, "==> %s (%s) <==\n", name, path)
		}
		if errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(w, "(no log yet)\n")
		}
		for _, l := range lines {
			fmt.Fprintln(w, s.R.Redact(l))
		}
		followers[i] = &follower{path: path, off: end}
		if many {
			followers[i].prefix = name + " | "
		}
	}
	if !follow {
		return nil
	}
	tick := time.NewTicker(followPoll)
	defer tick.Stop()
	for {
		for _, f := range followers {
			for _, l := range f.poll() {
				fmt.Fprintln(w, f.prefix+s.R.Redact(l))
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// follower reads the lines appended to a log since the last poll.
type follower struct {
	path, prefix string
	off          int64
	partial      []byte // a last line still waiting for its newline
}

func (f *follower) poll() []string {
	file, err := os.Open(f.path)
	if err != nil {
		return nil
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return nil
	}
	if st.Size() < f.off { // truncated or replaced: start over
		f.off, f.partial = 0, nil
	}
	data, _ := io.ReadAll(io.NewSectionReader(file, f.off, st.Size()-f.off))
	f.off += int64(len(data))
	data = append(f.partial, data...)
	i := bytes.LastIndexByte(data, '\n')
	if i < 0 {
		f.partial = data
		return nil
	}
	f.partial = append([]byte(nil), data[i+1:]...)
	return strings.Split(string(data[:i]), "\n")
}

// tail returns the last n lines of path after byte offset from.
func tail(path string, from int64, n int) ([]string, error) {
	lines, _, err := tailEnd(path, from, n)
	return lines, err
}

// tailEnd is tail that also returns the file's size. It reads backwards in
// growing chunks, so a long log costs only its end.
func tailEnd(path string, from int64, n int) (lines []string, size int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	size = st.Size()
	if from > size { // the log was truncated since
		from = 0
	}
	if n <= 0 {
		return nil, size, nil
	}
	for chunk := int64(8 << 10); ; chunk *= 4 {
		start := max(from, size-chunk)
		buf := make([]byte, size-start)
		if _, err := f.ReadAt(buf, start); err != nil && !errors.Is(err, io.EOF) {
			return nil, size, err
		}
		text := strings.TrimRight(string(buf), "\n")
		if text == "" && start == from {
			return nil, size, nil
		}
		lines = strings.Split(text, "\n")
		// Unless the chunk starts at from, its first line may be cut: keep
		// reading until there is more than n lines.
		if start == from || len(lines) > n {
			return lines[max(0, len(lines)-n):], size, nil
		}
	}
}
