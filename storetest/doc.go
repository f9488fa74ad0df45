// Package storetest is the conformance suite of tessera.Store: every backend
// runs Run against a fresh database per test, and a change to the store's
// semantics is made here first.
//
// A backend's test wires its enqueue hook to an Enqueued recorder, so that
// the suite can see which executions got a job and make the hook fail:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) (tessera.Store, *storetest.Enqueued) {
//			rec := &storetest.Enqueued{}
//			s := openStore(t, func(ctx context.Context, tx *sql.Tx, id int64) (int64, error) {
//				return rec.Record(id)
//			})
//			return s, rec
//		})
//	}
//
// The factory closes the store through t.Cleanup.
package storetest
