package stratumact_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/api"
	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/internal/sim"
	"github.com/hashgate/hashgate/stratum/proxy"
	"github.com/hashgate/hashgate/stratum/vardiff"
	"github.com/hashgate/hashgate/switcher"
	"github.com/hashgate/hashgate/switcher/stratumact"
)

// BenchmarkParkLatency10k measures the time to act: from the PUT
// /api/v1/allocation to the last planned rig's connection closed, with
// 10,000 rigs connected over in-memory connections (the file limit would
// bind first with sockets) and half of them curtailed. Run it once:
//
//	go test -run x -bench ParkLatency -benchtime 1x ./switcher/stratumact/
func BenchmarkParkLatency10k(b *testing.B) {
	const rigs = 10000
	for range b.N {
		b.StopTimer()
		dir := b.TempDir()
		policy := "site_capacity_kw = 40000.0\nramp_up_kw_per_min = 1e9\nmin_off = \"0s\"\nmin_on = \"0s\"\n\n" +
			"[[group]]\nname = \"hall\"\nworkers = [\"m-*\"]\nrig_kw = 3.0\nidle_kw = 0.1\nefficiency_j_th = 30.0\nactuator = \"stratum\"\n"
		if err := os.WriteFile(filepath.Join(dir, "policy.toml"), []byte(policy), 0o644); err != nil {
			b.Fatal(err)
		}
		pol, err := switcher.LoadPolicy(filepath.Join(dir, "policy.toml"))
		if err != nil {
			b.Fatal(err)
		}
		pool, err := sim.StartPool(sim.PoolConfig{})
		if err != nil {
			b.Fatal(err)
		}
		var bridge stratumact.Bridge
		sw, err := switcher.New(switcher.Config{StatePath: filepath.Join(dir, "s.json"), AuditPath: filepath.Join(dir, "a.jsonl"), Tick: 100 * time.Millisecond, Log: zerolog.Nop()}, pol, &bridge, &bridge)
		if err != nil {
			b.Fatal(err)
		}
		srv, err := proxy.New(proxy.Config{Gate: &bridge, Log: zerolog.Nop(), MaxConnections: rigs + 10,
			Difficulty: vardiff.Config{Initial: 1e-9, Min: 1e-9, Max: 1e-9, TargetShareSeconds: 10},
			Pools:      []proxy.PoolSpec{{Name: "pool", Address: pool.Addr(), User: "acct.proxy"}}})
		if err != nil {
			b.Fatal(err)
		}
		bridge.Bind(srv, sw)
		sw.Start()
		if err := srv.Start(); err != nil {
			b.Fatal(err)
		}
		if err := sim.Poll(5*time.Second, srv.Healthy); err != nil {
			b.Fatal(err)
		}
		h, err := api.New(api.Config{Proxy: srv, Switcher: sw, Tokens: []config.Token{{Name: "desk", Token: "t", Role: config.RoleWrite}}, Log: zerolog.Nop()})
		if err != nil {
			b.Fatal(err)
		}
		hs := httptest.NewServer(h)
		conns := map[string]*sim.ScriptedConn{}
		for i := range rigs {
			name := fmt.Sprintf("m-%05d", i)
			c := sim.NewScriptedConn(sim.MinerScript(name), nil)
			conns[name] = c
			srv.ServeConn(c)
		}
		mining := func() bool {
			n := 0
			for _, r := range sw.Rigs() {
				if r.State == "mining" {
					n++
				}
			}
			return n == rigs
		}
		if err := sim.Poll(60*time.Second, mining); err != nil {
			b.Fatalf("rigs not admitted: %v", err)
		}
		// 30,000 kW mining; AI takes 25,000 of 40,000: half must go.
		body := []byte(`{"ai_kw": 25000, "reason": "bench"}`)
		req, _ := http.NewRequest("PUT", hs.URL+"/api/v1/allocation", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer t")

		b.StartTimer()
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var plan struct {
			Curtail []string `json:"curtail"`
		}
		decodeJSON(b, resp, &plan)
		answered := time.Since(start)
		var last time.Time
		for _, name := range plan.Curtail {
			c := conns[name]
			<-c.Done()
			if at := c.ClosedAt(); at.After(last) {
				last = at
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(last.Sub(start).Microseconds())/1000, "ms-to-last-close")
		b.ReportMetric(float64(answered.Microseconds())/1000, "ms-to-answer")
		b.ReportMetric(float64(len(plan.Curtail)), "rigs-parked")

		hs.Close()
		srv.Close()
		sw.Close()
		pool.Close()
	}
}

func decodeJSON(b *testing.B, resp *http.Response, v any) {
	b.Helper()
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("status %d", resp.StatusCode)
	}
	if err := jsonDecode(resp, v); err != nil {
		b.Fatal(err)
	}
}

func jsonDecode(resp *http.Response, v any) error { return json.NewDecoder(resp.Body).Decode(v) }
