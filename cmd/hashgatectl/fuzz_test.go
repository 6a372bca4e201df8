package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashgate/hashgate/api"
	"github.com/hashgate/hashgate/switcher"
)

// FuzzHumanOutput: whatever text the API sends (a worker name a miner
// chose, a reason typed at the power desk, a pool's error, an error page
// of a proxy in front of the API), hashgatectl's tables and errors hold no
// raw control character and no invalid UTF-8, and one row stays one line.
func FuzzHumanOutput(f *testing.F) {
	f.Add("acct.rig-00001", "fan swap", "stratum error 23: Low difficulty share", "hall-a")
	f.Add("acct.evil\x1b]0;pwned\a\x1b[2J\nacct.fake  mining", "x\r\ty", "\x9b31m\xff", "\u202e")
	f.Add("矿机.01 🚀", "", "<html>\x1b[5m", "g\x00")
	var cur atomic.Pointer[[4]string]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := *cur.Load()
		name, reason, text, group := s[0], s[1], s[2], s[3]
		now := time.Now()
		var v any
		switch r.URL.Path {
		case "/api/v1/workers":
			v = []api.Worker{{Name: name, Group: group, State: reason, Flags: []string{text, group}, Remote: text, LastShare: &now}}
		case "/api/v1/events":
			v = []switcher.Event{{Seq: 1, Time: now, Kind: text, Who: group, Rig: name, Reason: reason, Fields: map[string]any{text: name, "n": 1.5}}}
		case "/api/v1/plan", "/api/v1/rigs/" + name + "/pin":
			no := false
			v = api.PlanResponse{Curtail: []string{name, group}, Resume: []string{text}, Park: []string{reason}, RigAction: text, RigActionReason: reason,
				Deferred: []api.Deferred{{Name: name, Reason: reason}}, WaitingForRig: true, NotCompliantReason: text,
				Durability: api.Durability{Persisted: &no, PersistError: reason}}
		case "/api/v1/rigs/" + name:
			if r.Method == http.MethodGet {
				pw, th := 3180.5, 94.2
				v = api.Worker{Name: name, Group: group, State: reason, Flags: []string{text}, Remote: text, LastShare: &now,
					PowerState: text, Since: &now, Pin: group, PinReason: reason, CountedAs: text, Actuator: group,
					PoolRejected: map[string]uint64{text: 1}, Device: &switcher.DeviceStatus{State: text, PowerW: &pw, HashrateTHs: &th, CheckedAt: &now}}
				break
			}
			no := false
			v = api.ForgetResponse{Rig: name, Forgotten: true, WasState: reason, WasFlags: []string{text}, WasPin: group,
				Durability: api.Durability{Persisted: &no, PersistError: text}}
		case "/api/v1/status":
			v = api.Status{Version: text, Pools: []api.Pool{{Name: name, URL: text, State: group, LastError: reason}},
				Power: &api.Power{Policy: name, PolicyError: reason + "\n" + text, Allocation: &api.Allocation{Who: group, Reason: reason, At: now},
					NotCompliantReason: text, StateError: reason, AuditError: name}}
		default:
			w.WriteHeader(http.StatusBadGateway)
			w.Write([]byte(text)) // not JSON: printed as the error
			return
		}
		json.NewEncoder(w).Encode(v)
	}))
	f.Cleanup(srv.Close)
	env := map[string]string{"HASHGATE_API": srv.URL, "HASHGATE_TOKEN": writeToken}
	f.Fuzz(func(t *testing.T, name, reason, text, group string) {
		if name == "" || strings.ContainsAny(name, "/?#%") {
			name = "x" + strings.NewReplacer("/", "", "?", "", "#", "", "%", "").Replace(name)
		}
		cur.Store(&[4]string{name, reason, text, group})
		for _, args := range [][]string{{"workers"}, {"events"}, {"status"}, {"plan", "--ai-kw", "5"},
			{"pin", name, "off", "--reason", reason}, {"forget", name}, {"worker", name}, {"version"}, {"--api", srv.URL + "/broken", "status"}} {
			r := ctl(t, env, args...)
			for _, out := range []string{r.stdout, r.stderr} {
				if i, what := rawControl(out); i >= 0 {
					t.Fatalf("hashgatectl %q printed a raw %s at byte %d; want i < 0:\n%q", args, what, i, out)
				}
			}
			if args[0] == "workers" && strings.Count(r.stdout, "\n") != 3 {
				t.Fatalf("workers: want a header, 1 row and a count (3 lines), got:\n%s", r.stdout)
			}
		}
	})
}
