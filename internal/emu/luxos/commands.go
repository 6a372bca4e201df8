package luxos

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashgate/hashgate/internal/emu"
)

// Answers, shaped as LuxOS sends them (docs.luxor.tech/firmware/api).
type obj = map[string]any

const description = "LUXminer emu"

func statusList(st string, code int, msg string) []obj {
	return []obj{{"STATUS": st, "Code": code, "Msg": msg, "Description": description, "When": time.Now().Unix()}}
}

func ok(code int, msg, key string, data ...obj) obj {
	a := obj{"STATUS": statusList("S", code, msg), "id": 1}
	if key != "" {
		a[key] = data
	}
	return a
}

func fail(code int, msg string) obj {
	return obj{"STATUS": statusList("E", code, msg), "id": 1}
}

func (r *Rig) dispatch(req request) obj {
	if strings.Contains(req.Command, "+") {
		out := obj{"id": 1}
		for _, c := range strings.Split(req.Command, "+") {
			out[c] = []obj{r.one(request{Command: c})}
		}
		return out
	}
	return r.one(req)
}

func (r *Rig) one(req request) obj {
	switch req.Command {
	case "logon":
		return r.logon()
	case "logoff":
		return r.logoff(req.Parameter)
	case "session":
		return ok(319, "Session information", "SESSION", obj{"SessionID": r.Session()})
	case "curtail":
		return r.curtail(req.Parameter)
	case "summary", "power", "config":
		return r.read(req.Command)
	case "pools":
		return r.listPools()
	case "addpool":
		return r.addPool(req.Parameter)
	case "removepool":
		return r.removePool(req.Parameter)
	}
	return fail(14, "Invalid command")
}

func (r *Rig) logon() obj {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expireLocked()
	if r.sid != "" {
		return fail(402, "Another session is active")
	}
	r.sid, r.lastUse = emu.RandomHex(4), r.cfg.Now()
	return ok(316, "Session created", "SESSION", obj{"SessionID": r.sid})
}

// useSession checks a session id parameter and refreshes the session.
func (r *Rig) useSession(sid string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expireLocked()
	if sid == "" || sid != r.sid {
		return false
	}
	r.lastUse = r.cfg.Now()
	return true
}

func (r *Rig) logoff(param string) obj {
	if !r.useSession(param) {
		r.dev.AuthFailed()
		return fail(401, "Invalid session id")
	}
	r.mu.Lock()
	r.sid = ""
	r.mu.Unlock()
	return ok(317, "Session dropped", "")
}

func (r *Rig) curtail(param string) obj {
	sid, action, _ := strings.Cut(param, ",")
	if !r.useSession(sid) {
		r.dev.AuthFailed()
		return fail(401, "Invalid session id")
	}
	switch action {
	case "sleep":
		r.dev.Curtail()
		return ok(335, "Curtailment command sent", "CURTAIL", obj{"Action": "sleep mode"})
	case "wakeup":
		r.dev.Resume()
		return ok(335, "Curtailment command sent", "CURTAIL", obj{"Action": "wake up"})
	}
	return fail(14, "Invalid curtail action")
}

func (r *Rig) read(cmd string) obj {
	s := r.dev.Read()
	ghs := s.HashrateTHs * 1000
	switch cmd {
	case "summary":
		return ok(11, "Summary", "SUMMARY", obj{"GHS 5s": ghs, "GHS av": ghs, "Elapsed": 3600, "Accepted": 10})
	case "power":
		return ok(311, "Power usage", "POWER", obj{"Watts": int(s.PowerW + 0.5), "PSU": s.Mining})
	}
	mode := "Sleep"
	if s.Mining {
		mode = "None"
	}
	return ok(33, "LUXminer config", "CONFIG", obj{"CurtailMode": mode, "IsPowerSupplyOn": s.Mining, "Pool Count": len(s.Pools)})
}

func (r *Rig) listPools() obj {
	r.mu.Lock()
	defer r.mu.Unlock()
	list := make([]obj, len(r.pools))
	for i, p := range r.pools {
		list[i] = obj{"POOL": p.id, "URL": p.url, "User": p.user, "Priority": i, "Status": "Alive"}
	}
	return ok(7, fmt.Sprintf("%d Pool(s)", len(r.pools)), "POOLS", list...)
}

func (r *Rig) addPool(param string) obj {
	parts := strings.Split(param, ",")
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return fail(25, "Missing pool details")
	}
	r.mu.Lock()
	r.pools = append(r.pools, poolRec{id: r.nextPool, url: parts[0], user: parts[1]})
	r.nextPool++
	r.syncPoolsLocked()
	r.mu.Unlock()
	return ok(55, "Added pool '"+parts[0]+"'", "")
}

func (r *Rig) removePool(param string) obj {
	id, err := strconv.Atoi(param)
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, p := range r.pools {
		if err == nil && p.id == id {
			r.pools = append(r.pools[:i], r.pools[i+1:]...)
			r.syncPoolsLocked()
			return ok(68, "Removed pool "+param, "")
		}
	}
	return fail(26, "Invalid pool id "+param)
}

func (r *Rig) syncPoolsLocked() {
	urls := make([]string, len(r.pools))
	for i, p := range r.pools {
		urls[i] = p.url
	}
	r.dev.SetPools(urls)
}
