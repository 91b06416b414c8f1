// Package fail defines the build system's exit codes and an error type that
// carries one. mage honours any error with an ExitStatus() int method, so a
// target that returns a *fail.Error exits with that code.
package fail

import (
	"errors"
	"fmt"
)

// Exit codes, kept in one table in the README.
const (
	OK          = 0 // success
	Failed      = 1 // a tool, build or test failed
	Usage       = 2 // mage's own usage errors (unknown target, bad argument)
	MissingTool = 3 // a required tool is not installed; the message carries the install command
	Refused     = 4 // a destructive operation on a protected database was refused
	Config      = 5 // configuration error: malformed .env, unparsable DATABASE_URL, unknown name
)

// Error is an error with an exit code.
type Error struct {
	Code int
	Msg  string
	Err  error // optional cause
}

func (e *Error) Error() string {
	if e.Err != nil && e.Msg == "" {
		return e.Err.Error()
	}
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// ExitStatus makes mage exit with Code.
func (e *Error) ExitStatus() int { return e.Code }

// New returns an error with the given exit code.
func New(code int, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// Wrap attaches an exit code to err, keeping it for errors.Is/As.
func Wrap(code int, err error, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...), Err: err}
}

// Code reports the exit code err carries: the code of the first *Error in its
// chain (or of any error with an ExitStatus method), Failed for any other
// non-nil error, and OK for nil.
func Code(err error) int {
	if err == nil {
		return OK
	}
	var st interface{ ExitStatus() int }
	if errors.As(err, &st) {
		return st.ExitStatus()
	}
	return Failed
}
