//go:build !unix

package mcptool

import "os/exec"

// ownProcessGroup does nothing where there are no process groups: only the
// server itself is ended on Close.
func ownProcessGroup(*exec.Cmd) {}

func killGroup(*exec.Cmd) {}
