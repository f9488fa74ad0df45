//go:build unix

package sqlite

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// fileLock is an exclusive flock on <database>.lock. It belongs to the open
// file description, so a second Open in the same process conflicts too, and
// the kernel drops it when the process dies. It is on a separate file because
// closing any descriptor of the database file itself would drop SQLite's own
// POSIX locks.
type fileLock struct {
	f *os.File
}

func acquireLock(dbPath string) (*fileLock, error) {
	path := dbPath + ".lock"
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("sqlite: database %s is in use by another tessera process (%s is locked)", dbPath, path)
		}
		return nil, fmt.Errorf("sqlite: lock %s: %w", path, err)
	}
	return &fileLock{f: f}, nil
}

// release unlocks; closing the descriptor drops the flock.
func (l *fileLock) release() {
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
}
