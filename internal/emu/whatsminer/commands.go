package whatsminer

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/hashgate/hashgate/switcher/whatsminer/wmcrypt"
)

type obj = map[string]any

// Codes of the v2 API.
const (
	codeInvalidCmd  = 14
	codeInvalidJSON = 23
	codeDenied      = 45
	codeOK          = 131
	codeTokenOK     = 134
	codeTokenCheck  = 135
	codeTokenMax    = 136
	codeBase64      = 137
)

// plain is btminer's own reply shape: STATUS a string, Msg a string or
// an object.
func plain(st string, code int, msg any) obj {
	return obj{"STATUS": st, "When": time.Now().Unix(), "Code": code, "Msg": msg, "Description": ""}
}

// cg is the cgminer-style shape of summary and pools.
func cg(code int, msg, key string, data ...obj) obj {
	return obj{"STATUS": []obj{{"STATUS": "S", "When": time.Now().Unix(), "Code": code, "Msg": msg, "Description": "btminer"}}, key: data, "id": 1}
}

func (r *Rig) handle(ip string, req map[string]any) any {
	if _, ok := req["enc"]; ok {
		return r.privileged(ip, req)
	}
	cmd, _ := req["cmd"].(string)
	if cmd == "" {
		cmd, _ = req["command"].(string)
	}
	switch cmd {
	case "get_token":
		return r.getToken(ip)
	case "summary":
		s := r.dev.Read()
		if r.cfg.NoSummaryAsleep && !s.Mining {
			return obj{"STATUS": []obj{{"STATUS": "E", "When": time.Now().Unix(), "Code": codeInvalidCmd, "Msg": "invalid cmd", "Description": "btminer"}}, "id": 1}
		}
		mhs := s.HashrateTHs * 1e6
		return cg(11, "Summary", "SUMMARY", obj{"Elapsed": 3600, "MHS av": mhs, "MHS 1m": mhs, "HS RT": mhs, "Power": int(s.PowerW + 0.5), "Power Limit": 3600})
	case "status":
		off := "true"
		if r.dev.Read().Mining {
			off = "false"
		}
		return plain("S", codeOK, obj{"mineroff": off, "mineroff_reason": "", "FirmwareVersion": "'20230911.12.Rel'", "power_mode": "", "hash_percent": ""})
	case "pools":
		urls := r.dev.Read().Pools
		list := make([]obj, len(urls))
		for i, u := range urls {
			list[i] = obj{"POOL": i + 1, "URL": u, "Status": "Alive", "Priority": i}
		}
		return cg(7, strconv.Itoa(len(urls))+" Pool(s)", "POOLS", list...)
	case "power_off", "power_on", "update_pools":
		return plain("E", codeDenied, "permission denied")
	}
	return plain("E", codeInvalidCmd, "invalid api command or data")
}

func (r *Rig) getToken(ip string) obj {
	r.mu.Lock()
	defer r.mu.Unlock()
	live := r.liveLocked(ip)
	if len(live) >= r.cfg.TokenLimit {
		return plain("E", codeTokenMax, "over max connect")
	}
	now := r.cfg.Now()
	tm := strconv.FormatInt(now.Unix(), 10)
	newsalt := randSalt()
	r.tokens[ip] = append(live, token{sign: wmcrypt.Sign(r.key, tm, newsalt), exp: now.Add(r.cfg.TokenTTL)})
	return plain("S", codeTokenOK, obj{"time": tm, "salt": r.salt, "newsalt": newsalt})
}

// liveLocked drops the client's expired tokens and returns the rest.
func (r *Rig) liveLocked(ip string) []token {
	now := r.cfg.Now()
	live := r.tokens[ip][:0]
	for _, t := range r.tokens[ip] {
		if now.Before(t.exp) {
			live = append(live, t)
		}
	}
	if len(live) == 0 {
		delete(r.tokens, ip)
		return nil
	}
	r.tokens[ip] = live
	return live
}

func (r *Rig) validSign(ip, sign string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range r.liveLocked(ip) {
		if t.sign == sign {
			return true
		}
	}
	return false
}

// privileged opens an encrypted command, checks its token and runs it.
// Errors are answered in plain text, success sealed.
func (r *Rig) privileged(ip string, req map[string]any) any {
	data, _ := req["data"].(string)
	text, err := wmcrypt.Open(r.key, data)
	if err != nil {
		r.dev.AuthFailed()
		return plain("E", codeBase64, "base64 decode error")
	}
	var cmd map[string]string
	if json.Unmarshal(text, &cmd) != nil {
		// A wrong key decrypts to noise.
		r.dev.AuthFailed()
		return plain("E", codeInvalidJSON, "invalid json message")
	}
	if !r.validSign(ip, cmd["token"]) {
		r.dev.AuthFailed()
		return plain("E", codeTokenCheck, "check token error")
	}
	switch cmd["cmd"] {
	case "power_off":
		r.dev.Curtail()
	case "power_on":
		r.dev.Resume()
	case "update_pools":
		var urls []string
		for _, k := range []string{"pool1", "pool2", "pool3"} {
			if cmd[k] != "" {
				urls = append(urls, cmd[k])
			}
		}
		r.dev.SetPools(urls)
	default:
		return plain("E", codeInvalidCmd, "invalid api command or data")
	}
	b, _ := json.Marshal(plain("S", codeOK, ""))
	return obj{"enc": wmcrypt.Seal(r.key, b)}
}
