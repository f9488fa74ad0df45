//go:build !unix

package sqlite

// fileLock does nothing where flock is unavailable: there, keeping to one
// process per database is up to the operator.
type fileLock struct{}

func acquireLock(dbPath string) (*fileLock, error) { return &fileLock{}, nil }

func (*fileLock) release() {}
