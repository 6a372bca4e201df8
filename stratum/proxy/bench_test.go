package proxy_test

import (
	"bufio"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/stratum"
	"github.com/hashgate/hashgate/stratum/vardiff"
)

// BenchmarkSubmitPath is the proxy's whole share path for one miner over
// loopback TCP: read, parse, validate (every hash is valid at difficulty
// 2.3e-10), account, answer, forward to the pool. Submits are pipelined
// in batches of 256; ns/op and allocs/op are per share, both sides of the
// socket and the in-process pool included.
func BenchmarkSubmitPath(b *testing.B) {
	const diff = 2.3e-10
	pool, err := sim.StartPool(sim.PoolConfig{Difficulty: diff})
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	cfg := quickConfig(b, pool)
	cfg.Difficulty = vardiff.Config{Initial: diff, Min: diff, Max: diff, TargetShareSeconds: 10}
	srv := startProxy(b, cfg)
	c, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReaderSize(c, 1<<16)
	w := bufio.NewWriterSize(c, 1<<16)
	readMsg := func() *stratum.Message {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, err := r.ReadBytes('\n')
		if err != nil {
			b.Fatal(err)
		}
		m, err := stratum.Decode(line)
		if err != nil {
			b.Fatal(err)
		}
		return m
	}
	fmt.Fprintf(w, `{"id":1,"method":"mining.subscribe","params":[]}`+"\n"+`{"id":2,"method":"mining.authorize","params":["acct.bench","x"]}`+"\n")
	w.Flush()
	var job *stratum.Notify
	var en2Size int
	for job == nil {
		m := readMsg()
		if string(m.ID) == "1" {
			sr, _ := stratum.ParseSubscribeResult(m.Result)
			en2Size = sr.Extranonce2Size
		}
		if m.Method == stratum.MethodNotify {
			job, _ = stratum.ParseNotify(m.Params)
		}
	}
	en2 := fmt.Sprintf("%0*x", 2*en2Size, 0)
	b.ReportAllocs()
	b.ResetTimer()
	nonce := uint32(0)
	for done := 0; done < b.N; {
		batch := min(256, b.N-done)
		for i := range batch {
			nonce++
			fmt.Fprintf(w, `{"id":%d,"method":"mining.submit","params":["acct.bench","%s","%s","%s","%08x"]}`+"\n", 100+i, job.JobID, en2, job.NTime, nonce)
		}
		w.Flush()
		for got := 0; got < batch; {
			m := readMsg()
			if m.IsRequest() {
				continue
			}
			if e := stratum.ParseError(m.Error); e != nil {
				b.Fatalf("share answered %v, want accepted", e)
			}
			got++
		}
		done += batch
	}
	b.StopTimer()
}
