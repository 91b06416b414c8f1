package run

import (
	"bytes"
	"io"
	"sync"
)

// prefixWriter writes whole lines to w, each starting with prefix. A partial
// last line waits for its newline (or Flush). mu is shared by all writers on
// the same terminal so lines never interleave mid-line.
type prefixWriter struct {
	w      io.Writer
	prefix []byte
	mu     *sync.Mutex
	own    sync.Mutex
	buf    []byte
}

func newPrefixWriter(w io.Writer, prefix string, mu *sync.Mutex) *prefixWriter {
	return &prefixWriter{w: w, prefix: []byte(prefix), mu: mu}
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.own.Lock()
	defer p.own.Unlock()
	p.buf = append(p.buf, b...)
	var out []byte
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			break
		}
		out = append(out, p.prefix...)
		out = append(out, p.buf[:i+1]...)
		p.buf = p.buf[i+1:]
	}
	if len(out) > 0 {
		p.mu.Lock()
		_, err := p.w.Write(out)
		p.mu.Unlock()
		if err != nil {
			return 0, err
		}
	}
	return len(b), nil
}

// Flush writes a pending partial line.
func (p *prefixWriter) Flush() {
	p.own.Lock()
	defer p.own.Unlock()
	if len(p.buf) == 0 {
		return
	}
	line := append(append(append([]byte(nil), p.prefix...), p.buf...), '\n')
	p.buf = nil
	p.mu.Lock()
	_, _ = p.w.Write(line)
	p.mu.Unlock()
}
