package mcptool_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/tessera-run/tessera"
	"github.com/tessera-run/tessera/tool/mcptool"
)

// Close returns once the server has exited and been reaped.
func TestStdioCloseEndsTheServer(t *testing.T) {
	t.Parallel()
	b, err := mcptool.Open(t.Context(), []tessera.MCPServer{stdioServer()}, stdioSecrets, stdioOptions)
	if err != nil {
		t.Fatal(err)
	}
	pid := pidOf(t, call(t, get(t, b, "local__pid"), `{}`).Content)
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("the server (pid %d) is not running: %v", pid, err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("after Close, the server (pid %d): %v, want no such process", pid, err)
	}
}

// Close also ends the processes the server started and left running.
func TestStdioCloseEndsWhatTheServerStarted(t *testing.T) {
	t.Parallel()
	b, err := mcptool.Open(t.Context(), []tessera.MCPServer{stdioServer()}, stdioSecrets, stdioOptions)
	if err != nil {
		t.Fatal(err)
	}
	child := pidOf(t, call(t, get(t, b, "local__spawn"), `{}`).Content)
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// The kill is delivered asynchronously and init reaps the orphan: wait
	// for either, well within the sleeper's minute.
	deadline := time.Now().Add(10 * time.Second)
	for !dead(child) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(child, syscall.SIGKILL)
			t.Fatalf("the server's child (pid %d) outlived Close", child)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func pidOf(t *testing.T, s string) int {
	t.Helper()
	pid, err := strconv.Atoi(s)
	if err != nil || pid <= 0 {
		t.Fatalf("pid %q: %v", s, err)
	}
	return pid
}

// dead reports whether pid is gone or a zombie.
func dead(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name, which is in parentheses.
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}
