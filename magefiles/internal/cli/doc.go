// Package cli holds end-to-end tests of the mage targets: they compile the
// magefiles once into a binary (as CI does) and run real targets with real
// tools, checking output and exit codes.
package cli
