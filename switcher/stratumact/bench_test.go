package stratumact_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/internal/sim"
	hgsite "github.com/hashgate/hashgate/site"
	"github.com/hashgate/hashgate/switcher"
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
		pool, err := sim.StartPool(sim.PoolConfig{})
		if err != nil {
			b.Fatal(err)
		}
		site := benchSite(b, dir, pool, rigs)
		srv, sw := site.Proxy(), site.Switcher()
		if err := sim.Poll(5*time.Second, srv.Healthy); err != nil {
			b.Fatal(err)
		}
		hs := httptest.NewServer(site.Handler())
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
		site.Close()
		pool.Close()
	}
}

// benchSite is a site over pool for rigs in-memory rigs, its policy
// file in dir, the API handler for the caller to serve.
func benchSite(b *testing.B, dir string, pool *sim.Pool, rigs int) *hgsite.Site {
	cfg := config.Default()
	cfg.Proxy.Listen, cfg.API.Listen = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Proxy.MaxConnections = rigs + 10
	cfg.Proxy.Difficulty = config.Difficulty{Initial: 1e-9, Min: 1e-9, Max: 1e-9, TargetShareSeconds: 10}
	p := config.DefaultPool()
	host, port, _ := net.SplitHostPort(pool.Addr())
	p.Port, _ = strconv.Atoi(port)
	p.Name, p.URL, p.Host, p.User = "pool", pool.URL(), host, "acct.proxy"
	cfg.Pools = []config.Pool{p}
	cfg.API.Tokens = []config.Token{{Name: "desk", Token: "t", Role: config.RoleWrite}}
	cfg.Switcher.PolicyPath = filepath.Join(dir, "policy.toml")
	cfg.Switcher.StateFilePath, cfg.Switcher.AuditLogPath = filepath.Join(dir, "s.json"), filepath.Join(dir, "a.jsonl")
	site, err := hgsite.New(cfg, zerolog.Nop(), hgsite.WithoutAPIListener(),
		hgsite.WithSwitcher(func(c *switcher.Config) { c.Tick = 100 * time.Millisecond }))
	if err != nil {
		b.Fatal(err)
	}
	if err := site.Start(); err != nil {
		b.Fatal(err)
	}
	return site
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
