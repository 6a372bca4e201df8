package upstream_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/stratum/upstream"
)

// A pool's set_difficulty of NaN or ±Inf (as a number out of range or as
// a string strconv reads) is refused by the decoder: logged once as an
// error naming the pool, the last good difficulty kept, the session
// alive; the next good value is taken.
func TestPoolNonFiniteDifficultyIgnored(t *testing.T) {
	pool := startPool(t, sim.PoolConfig{Difficulty: 0.25})
	cfg := cfgFor(pool)
	var logs sim.LogBuffer
	cfg.Log = zerolog.New(&logs)
	s, err := upstream.Dial(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rec := newRecorder()
	s.Start(rec)
	rec.waitHeard(t, "a first job", func(r *recorder) bool { return len(r.jobs) > 0 })
	bad := []string{`1e400`, `-1e400`, `"1e400"`, `"NaN"`, `"nan"`, `"Inf"`, `"-Infinity"`, `null`, `0`, `-1`}
	for _, v := range bad {
		pool.SendRaw([]byte(`{"id":null,"method":"mining.set_difficulty","params":[` + v + `]}` + "\n"))
	}
	pool.SetDifficulty(0.5)
	sim.WaitFor(t, 2*time.Second, "the good difficulty 0.5 after the bad ones", func() (bool, any) {
		d := s.Difficulty()
		return d == 0.5, d
	})
	rec.mu.Lock()
	diffs := append([]float64(nil), rec.diffs...)
	rec.mu.Unlock()
	if len(diffs) != 2 || diffs[0] != 0.25 || diffs[1] != 0.5 {
		t.Fatalf("handler heard difficulties %v, want [0.25 0.5]: no bad value may reach it", diffs)
	}
	select {
	case err := <-rec.closed:
		t.Fatalf("session ended on a bad difficulty: %v, want it still open", err)
	default:
	}
	out := logs.String()
	lines := logs.Count("not a finite number above 0")
	if lines != 1 || !strings.Contains(out, `"pool":"test"`) || !strings.Contains(out, `"level":"error"`) ||
		!strings.Contains(out, `"params":"[1e400]"`) || !strings.Contains(out, `"difficulty":0.25`) {
		t.Fatalf("want one error line naming the pool, the value and the difficulty kept (the rest summarized); got %d:\n%s", lines, out)
	}
}
