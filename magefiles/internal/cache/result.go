package cache

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// Result is what the action cache records for a success: the outputs
// (path relative to the root, content digest, executable bit) and when the
// run started and ended. It is stored as a Remote Execution API
// ActionResult message, the format Bazel and bazel-remote keep under /ac/,
// so any Bazel remote cache validates and serves it.
type Result struct {
	Outputs    []Output
	Start, End time.Time
	Worker     string // the machine that ran the action
}

// Output is one declared output file.
type Output struct {
	Path       string // slash-separated, relative to the root
	Digest     Digest
	Executable bool
}

// Digest names a blob of the content-addressed store: its sha256 (lower
// hex) and size.
type Digest struct {
	Hash string
	Size int64
}

// Took is how long the recorded run took: what a cache hit saves.
func (r Result) Took() time.Duration { return r.End.Sub(r.Start) }

// Field numbers of build.bazel.remote.execution.v2 (remote_execution.proto)
// and google.protobuf.Timestamp.
const (
	resultOutputFiles    = 2
	resultExitCode       = 4
	resultMetadata       = 9
	outputPath           = 1
	outputDigest         = 2
	outputExecutable     = 4
	digestHash           = 1
	digestSize           = 2
	metadataWorker       = 1
	metadataExecStart    = 7
	metadataExecComplete = 8
	timestampSeconds     = 1
	timestampNanos       = 2
)

// Marshal encodes r as an ActionResult with exit code 0.
func (r Result) Marshal() []byte {
	var b []byte
	for _, o := range r.Outputs {
		var f []byte
		f = protowire.AppendTag(f, outputPath, protowire.BytesType)
		f = protowire.AppendString(f, o.Path)
		f = protowire.AppendTag(f, outputDigest, protowire.BytesType)
		f = protowire.AppendBytes(f, o.Digest.marshal())
		if o.Executable {
			f = protowire.AppendTag(f, outputExecutable, protowire.VarintType)
			f = protowire.AppendVarint(f, 1)
		}
		b = protowire.AppendTag(b, resultOutputFiles, protowire.BytesType)
		b = protowire.AppendBytes(b, f)
	}
	var m []byte
	if r.Worker != "" {
		m = protowire.AppendTag(m, metadataWorker, protowire.BytesType)
		m = protowire.AppendString(m, r.Worker)
	}
	m = appendTimestamp(m, metadataExecStart, r.Start)
	m = appendTimestamp(m, metadataExecComplete, r.End)
	b = protowire.AppendTag(b, resultMetadata, protowire.BytesType)
	return protowire.AppendBytes(b, m)
}

func (d Digest) marshal() []byte {
	var b []byte
	b = protowire.AppendTag(b, digestHash, protowire.BytesType)
	b = protowire.AppendString(b, d.Hash)
	if d.Size != 0 {
		b = protowire.AppendTag(b, digestSize, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(d.Size))
	}
	return b
}

func appendTimestamp(b []byte, num protowire.Number, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	var ts []byte
	ts = protowire.AppendTag(ts, timestampSeconds, protowire.VarintType)
	ts = protowire.AppendVarint(ts, uint64(t.Unix()))
	ts = protowire.AppendTag(ts, timestampNanos, protowire.VarintType)
	ts = protowire.AppendVarint(ts, uint64(t.Nanosecond()))
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, ts)
}

// Unmarshal decodes an ActionResult. Fields this build system does not
// write are skipped; a result with a non-zero exit code, output
// directories or symlinks is refused: it was not recorded by this build
// system, and replaying part of it would be wrong.
func Unmarshal(b []byte) (Result, error) {
	var r Result
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error {
		switch {
		case num == resultOutputFiles && typ == protowire.BytesType:
			o, err := unmarshalOutput(v)
			if err != nil {
				return err
			}
			r.Outputs = append(r.Outputs, o)
		case num == resultExitCode && typ == protowire.VarintType && n != 0:
			return fmt.Errorf("the recorded action failed (exit code %d)", int32(n))
		case (num == 3 || num == 12) && typ == protowire.BytesType:
			return fmt.Errorf("the recorded action has output directories or symlinks")
		case num == resultMetadata && typ == protowire.BytesType:
			return fields(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
				var err error
				switch {
				case num == metadataWorker && typ == protowire.BytesType:
					r.Worker = string(v)
				case num == metadataExecStart && typ == protowire.BytesType:
					r.Start, err = unmarshalTimestamp(v)
				case num == metadataExecComplete && typ == protowire.BytesType:
					r.End, err = unmarshalTimestamp(v)
				}
				return err
			})
		}
		return nil
	})
	return r, err
}

func unmarshalOutput(b []byte) (Output, error) {
	var o Output
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error {
		switch {
		case num == outputPath && typ == protowire.BytesType:
			o.Path = string(v)
		case num == outputExecutable && typ == protowire.VarintType:
			o.Executable = n != 0
		case num == outputDigest && typ == protowire.BytesType:
			return fields(v, func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error {
				switch {
				case num == digestHash && typ == protowire.BytesType:
					o.Digest.Hash = string(v)
				case num == digestSize && typ == protowire.VarintType:
					o.Digest.Size = int64(n)
				}
				return nil
			})
		}
		return nil
	})
	if err == nil && (o.Path == "" || !validHash(o.Digest.Hash)) {
		err = fmt.Errorf("an output file without a path or a sha256 digest")
	}
	return o, err
}

func unmarshalTimestamp(b []byte) (time.Time, error) {
	var sec, nsec uint64
	err := fields(b, func(num protowire.Number, typ protowire.Type, _ []byte, n uint64) error {
		switch {
		case num == timestampSeconds && typ == protowire.VarintType:
			sec = n
		case num == timestampNanos && typ == protowire.VarintType:
			nsec = n
		}
		return nil
	})
	return time.Unix(int64(sec), int64(nsec)), err
}

// fields calls fn for each field of a message: its number, wire type, and
// its bytes (length-delimited) or integer value (varint); other wire types
// are skipped.
func fields(b []byte, fn func(protowire.Number, protowire.Type, []byte, uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("not an ActionResult: %v", protowire.ParseError(n))
		}
		b = b[n:]
		var (
			v   []byte
			x   uint64
			err error
		)
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("not an ActionResult: %v", protowire.ParseError(n))
		}
		b = b[n:]
		if typ == protowire.BytesType || typ == protowire.VarintType {
			err = fn(num, typ, v, x)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func validHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	for _, c := range h {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
