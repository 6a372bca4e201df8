package antminer

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hashgate/hashgate/internal/emu"
)

// setConf applies a configuration write. A body without "miner-mode"
// (only "bitmain-work-mode") is answered with success and ignored: the
// field quirk. Pools sent replace the slots sent.
func (r *Rig) setConf(w http.ResponseWriter, req *http.Request) {
	var body map[string]json.RawMessage
	b, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil || json.Unmarshal(b, &body) != nil {
		emu.WriteJSON(w, http.StatusOK, map[string]string{"stats": "error", "code": "M001", "msg": "Illegal json"})
		return
	}
	if p, ok := body["pools"]; ok {
		var ps []pool
		if json.Unmarshal(p, &ps) != nil {
			emu.WriteJSON(w, http.StatusOK, map[string]string{"stats": "error", "code": "M001", "msg": "Illegal pools"})
			return
		}
		r.setPools(ps)
	}
	if v, ok := body["miner-mode"]; ok {
		mode, ok := intOf(v)
		if !ok || mode < 0 || mode > 3 {
			emu.WriteJSON(w, http.StatusOK, map[string]string{"stats": "error", "code": "M001", "msg": "Illegal miner-mode"})
			return
		}
		r.mu.Lock()
		r.mode = mode
		r.mu.Unlock()
		if mode == 1 {
			r.dev.Curtail()
		} else {
			r.dev.Resume()
		}
	}
	emu.WriteJSON(w, http.StatusOK, map[string]string{"stats": "success", "code": "M000", "msg": "OK!"})
}

func (r *Rig) setPools(ps []pool) {
	if len(ps) > 3 {
		ps = ps[:3]
	}
	r.mu.Lock()
	for len(r.pools) < len(ps) {
		r.pools = append(r.pools, pool{})
	}
	copy(r.pools, ps)
	urls := []string{}
	for _, p := range r.pools {
		if p.URL != "" {
			urls = append(urls, p.URL)
		}
	}
	r.mu.Unlock()
	r.dev.SetPools(urls)
}

func intOf(v json.RawMessage) (int, bool) {
	var x any
	if json.Unmarshal(v, &x) != nil {
		return 0, false
	}
	switch t := x.(type) {
	case float64:
		return int(t), t == float64(int(t))
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(t))
		return n, err == nil
	}
	return 0, false
}

func (r *Rig) header(msg string) (map[string]any, map[string]any) {
	status := map[string]any{"STATUS": "S", "when": time.Now().Unix(), "Msg": msg, "api_version": "1.0.0"}
	info := map[string]any{"miner_version": "49.0.1.3", "CompileTime": "Thu Dec 15 12:00:00 CST 2022", "type": r.cfg.Model}
	return status, info
}

// stats reports the running miner: its mode and rates follow the
// device, so a mode change shows only once the miner has restarted.
func (r *Rig) stats(w http.ResponseWriter, _ *http.Request) {
	s := r.dev.Read()
	mode := 0
	if !s.Mining {
		mode = 1
	}
	gh := s.HashrateTHs * 1000
	row := map[string]any{
		"elapsed": int(time.Since(r.start).Seconds()), "rate_5s": gh, "rate_30m": gh, "rate_avg": gh,
		"rate_ideal": gh, "rate_unit": "GH", "chain_num": 3, "fan_num": 4,
		"fan": []int{5400, 5400, 5400, 5400}, "hwp_total": 0, "miner-mode": mode, "freq-level": 100,
		"chain": []any{},
	}
	if r.cfg.ReportPower {
		row["power"] = s.PowerW
	}
	status, info := r.header("stats")
	emu.WriteJSON(w, http.StatusOK, map[string]any{"STATUS": status, "INFO": info, "STATS": []any{row}})
}

func (r *Rig) summary(w http.ResponseWriter, _ *http.Request) {
	s := r.dev.Read()
	gh := s.HashrateTHs * 1000
	row := map[string]any{
		"elapsed": int(time.Since(r.start).Seconds()), "rate_5s": gh, "rate_30m": gh, "rate_avg": gh,
		"rate_ideal": gh, "rate_unit": "GH", "hw_all": 0, "bestshare": 0,
		"status": []map[string]any{{"type": "rate", "status": "s", "code": 0, "msg": ""}},
	}
	status, info := r.header("summary")
	emu.WriteJSON(w, http.StatusOK, map[string]any{"STATUS": status, "INFO": info, "SUMMARY": []any{row}})
}
