package proxy_test

import (
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/stratum"
)

// A rejected share is a submit too: WorkerLastSubmit moves, the last good
// share does not. The switcher reads it to catch a parked rig that keeps
// hashing stale work.
func TestWorkerLastSubmitCountsRejectedShares(t *testing.T) {
	srv := startProxy(t, quickConfig(t, startPool(t, sim.PoolConfig{})))
	const name = "acct.parked-1"
	m := dialRaw(t, srv)
	m.call("1", "mining.subscribe", `[]`)
	if a := m.call("2", "mining.authorize", `["`+name+`","x"]`); string(a.Result) != "true" {
		t.Fatalf("authorize: result %s error %s, want true", a.Result, a.Error)
	}
	if got := srv.WorkerLastSubmit(name); !got.IsZero() {
		t.Fatalf("last submit %v before any submit, want zero", got)
	}
	before := time.Now()
	a := m.call("3", "mining.submit", `["`+name+`","no-such-job","00000000","00000000","00000000"]`)
	if code := errCode(t, a); code != stratum.ErrJobNotFound {
		t.Fatalf("submit on an unknown job answered %v, want %v", code, stratum.ErrJobNotFound)
	}
	if got := srv.WorkerLastSubmit(name); got.Before(before) {
		t.Fatalf("last submit %v, want at or after %v (the rejected submit)", got, before)
	}
	if last, _, _ := srv.WorkerActivity(name); !last.IsZero() {
		t.Fatalf("last good share %v after a rejected one, want zero", last)
	}
	if got := srv.WorkerLastSubmit("acct.nobody"); !got.IsZero() {
		t.Fatalf("unknown worker's last submit %v, want zero", got)
	}
}
