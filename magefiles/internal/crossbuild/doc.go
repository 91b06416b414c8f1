// Package crossbuild holds one test: the build system, its magefiles and
// every package's tests type-check for each platform it supports (see the
// README's Platforms), so that a call only one OS has (syscall.Kill,
// SysProcAttr.Setsid, /proc) cannot land unnoticed.
package crossbuild
