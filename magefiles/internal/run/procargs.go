package run

import (
	"bytes"
	"encoding/binary"
	"errors"
)

// parseProcArgs decodes macOS's kern.procargs2 buffer: argc (a 32-bit
// integer in the machine's byte order: little-endian on every Mac Go
// builds for), the executable's path, NUL padding, then argc
// NUL-terminated arguments, followed by the environment.
func parseProcArgs(buf []byte) (exe string, argv []string, err error) {
	if len(buf) < 4 {
		return "", nil, errors.New("run: short kern.procargs2 buffer")
	}
	argc := int(binary.LittleEndian.Uint32(buf))
	rest := buf[4:]
	path, rest, ok := bytes.Cut(rest, []byte{0})
	if !ok || len(path) == 0 {
		return "", nil, errors.New("run: kern.procargs2 without an executable path")
	}
	rest = bytes.TrimLeft(rest, "\x00")
	for len(argv) < argc && len(rest) > 0 {
		var arg []byte
		arg, rest, _ = bytes.Cut(rest, []byte{0})
		argv = append(argv, string(arg))
	}
	if len(argv) < argc {
		return string(path), argv, errors.New("run: kern.procargs2 ends before its arguments do")
	}
	return string(path), argv, nil
}
