package proxy_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"

	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/stratum/sharehash"
)

// The share-validation "done when": 1,000 miners, a fraction of them
// sending duplicates, stale, low-difficulty and otherwise bad shares; every
// answer the proxy gives matches what the share really is, and the pool
// receives exactly the shares that meet its difficulty.
func TestThousandMinersWithBadShares(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("1,000 connections: too heavy for the race detector on 2 cores; the smaller tests race the same paths")
	}
	const poolDiff = 4e-9 // miners work at 1e-9: about one share in four goes up
	pool := startPool(t, sim.PoolConfig{Difficulty: poolDiff, JobInterval: 500 * time.Millisecond})
	srv := startProxy(t, quickConfig(t, pool))
	poolTarget := sharehash.NewTarget(poolDiff)
	var meetsPool atomic.Int64
	fleet := startFleet(t, sim.FleetConfig{
		Addr: srv.Addr().String(), Miners: 1000, ASICFraction: 0.5, BadFraction: 0.2, BadEvery: 2,
		ShareInterval: 500 * time.Millisecond, RampUp: 500 * time.Millisecond,
		OnAccepted: func(_ string, h chainhash.Hash, _ float64) {
			if poolTarget.Met(&h) {
				meetsPool.Add(1)
			}
		},
	})
	sim.WaitFor(t, 30*time.Second, "all working (fleet.Stats().Working == 1000)", func() (bool, any) {
		st := fleet.Stats()
		return st.Working == 1000, st
	})
	sim.WaitFor(t, 30*time.Second, "shares and bad shares (4000 accepted, 700 bad rejected as expected, 6 kinds)", func() (bool, any) {
		st := fleet.Stats()
		return st.Accepted >= 4000 && st.BadRejectedAsExpected >= 700 && len(st.BadByKind) >= 6, st
	})
	fleet.Close() // stop submitting, then compare the books
	st := fleet.Stats()
	// Shares the proxy accepted and forwarded while the fleet was closing
	// reach the pool without their answer reaching the miner: at most the
	// fleet's unanswered shares.
	sim.WaitFor(t, 10*time.Second, "the pool's count between the shares that met its difficulty and those plus the unanswered, every forwarded share answered", func() (bool, any) {
		got, want := int64(pool.Stats().Accepted), meetsPool.Load()
		ps := srv.Stats()
		return got >= want && got <= want+int64(st.Unanswered) && ps.SharesForwarded == ps.PoolAccepted+ps.PoolRejected,
			fmt.Sprintf("pool accepted %d, %d met its difficulty, %d unanswered; proxy forwarded %d, pool accepted %d, rejected %d",
				got, want, st.Unanswered, ps.SharesForwarded, ps.PoolAccepted, ps.PoolRejected)
	})
	if st.WrongAnswers != 0 || st.BadWrongAnswers != 0 {
		t.Fatalf("fleet %+v, want no wrong answers (valid or bad shares)", st)
	}
	if r := pool.Stats().Rejected; pool.Stats().RejectedTotal() > 0 {
		t.Fatalf("the pool was sent shares it rejected: %v, want none", r)
	}
	ps := srv.Stats()
	for _, reason := range []string{"duplicate", "stale", "low_difficulty", "ntime", "unauthorized", "extranonce2"} {
		if ps.SharesRejected[reason] == 0 {
			t.Errorf("rejections counted %v, want some %s", ps.SharesRejected, reason)
		}
	}
	t.Logf("accepted %d, forwarded %d, bad submits %d (%v)", ps.SharesAccepted, ps.SharesForwarded, st.BadSubmitted, st.BadByKind)
}

// A share that meets the network target is a block candidate: forwarded at
// once and counted.
func TestBlockCandidate(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{NBits: sim.RegtestNBits, Difficulty: 1e-6})
	srv := startProxy(t, quickConfig(t, pool)) // miners at 1e-9; every regtest hash is a block
	w := startWorker(t, srv, "acct.lucky")
	s, _ := w.mine(t, w.job, 0, 0, meets(w.diff))
	if c := errCode(t, w.submit(9, s)); c != 0 {
		t.Fatalf("lucky share answered code %d, want 0 (accepted)", c)
	}
	sim.WaitFor(t, 5*time.Second, "block candidate forwarded though below the pool's difficulty (pool.Stats().Submitted == 1)", func() (bool, any) {
		got := pool.Stats().Submitted
		return got == 1, got
	})
	if st := srv.Stats(); st.BlockCandidates != 1 {
		t.Fatalf("block candidates %d, want 1", st.BlockCandidates)
	}
	if acct, _ := srv.Worker("acct.lucky"); acct.Blocks != 1 {
		t.Fatalf("worker blocks %d, want 1", acct.Blocks)
	}
}
