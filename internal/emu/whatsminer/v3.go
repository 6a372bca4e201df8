package whatsminer

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/hashgate/hashgate/internal/emu"
)

// API v3 as asic-rs (src/miners/backends/whatsminer/v3) and
// ya-whatsminer-cli (whatsminer_cli/core.py) speak it: 4-byte
// little-endian length + JSON both ways, {"code":0,"msg":…} replies,
// set.* commands signed with base64(sha256(cmd+password+salt+ts))[:8].
// The refusal code and text for a bad token are this emulator's own
// (the sources do not show the firmware's).

const maxRequestV3 = 64 << 10

func (r *Rig) serveV3(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(r.cfg.ReadTimeout))
	var hdr [4]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return
	}
	n := binary.LittleEndian.Uint32(hdr[:])
	if n > maxRequestV3 {
		return
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(c, body); err != nil {
		return
	}
	var req map[string]any
	var ans obj
	if json.Unmarshal(body, &req) != nil {
		ans = v3reply(-3, "invalid json")
	} else {
		ans = r.handleV3(req)
	}
	b, _ := json.Marshal(ans)
	emu.WriteChunks(c, append(binary.LittleEndian.AppendUint32(nil, uint32(len(b))), b...), r.cfg.Chunk)
}

func v3reply(code int, msg any) obj {
	return obj{"code": code, "when": time.Now().Unix(), "msg": msg, "desc": ""}
}

func (r *Rig) handleV3(req map[string]any) obj {
	cmd, _ := req["cmd"].(string)
	param, _ := req["param"].(string)
	switch cmd {
	case "get.device.info":
		return v3reply(0, obj{"salt": r.salt})
	case "get.miner.status":
		s := r.dev.Read()
		if param == "pools" {
			list := make([]obj, len(s.Pools))
			for i, u := range s.Pools {
				list[i] = obj{"id": i + 1, "url": u, "status": "alive", "account": "w"}
			}
			return v3reply(0, obj{"pools": list})
		}
		return v3reply(0, obj{"summary": obj{"power-realtime": s.PowerW, "hash-realtime": s.HashrateTHs, "elapsed": 3600, "power-limit": 3600}})
	case "set.miner.service":
		if !r.checkTokenV3(cmd, req) {
			r.dev.AuthFailed()
			return v3reply(-4, "invalid token or account")
		}
		switch param {
		case "stop":
			r.dev.Curtail()
		case "start":
			r.dev.Resume()
		default:
			return v3reply(-2, "invalid param")
		}
		return v3reply(0, "ok")
	}
	return v3reply(-2, "invalid command")
}

func (r *Rig) checkTokenV3(cmd string, req map[string]any) bool {
	account, _ := req["account"].(string)
	token, _ := req["token"].(string)
	ts, ok := req["ts"].(float64)
	if !ok || account != r.cfg.User {
		return false
	}
	sum := sha256.Sum256([]byte(cmd + r.cfg.Password + r.salt + strconv.FormatInt(int64(ts), 10)))
	return token == base64.StdEncoding.EncodeToString(sum[:])[:8]
}
