package whatsminer

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/hashgate/hashgate/switcher/device"
)

// API v3: TCP 4433, each message a 4-byte little-endian length then
// JSON; replies {"code": 0 on success, "msg": …}; set.* commands carry
// account, ts and a token made from the device's salt (see doc.go).

// DefaultUserV3 and DefaultPasswordV3 are the factory account of API v3.
const (
	DefaultUserV3     = "super"
	DefaultPasswordV3 = "super"
)

// sessionV3 is what a v3 target keeps: the device's salt (public: the
// device gives it to anyone), so set commands need one round trip.
type sessionV3 struct{ salt string }

func (s *sessionV3) String() string { return "whatsminer v3 salt" }

// roundtripV3 sends one length-prefixed request and reads one reply.
func (d *Driver) roundtripV3(ctx context.Context, addr string, req map[string]any) ([]byte, error) {
	body, _ := json.Marshal(req)
	msg := binary.LittleEndian.AppendUint32(make([]byte, 0, 4+len(body)), uint32(len(body)))
	name, _ := req["cmd"].(string)
	return d.exchange(ctx, addr, name, append(msg, body...), func(r io.Reader) ([]byte, error) {
		return readFrame(r, d.maxAnswer)
	})
}

// readFrame reads one length-prefixed reply of at most max bytes.
func readFrame(r io.Reader, max int64) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint32(hdr[:])
	if int64(n) > max {
		return nil, fmt.Errorf("%w: %w (%d bytes)", device.ErrProtocol, device.ErrTooLong, n)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// replyV3 is every v3 reply.
type replyV3 struct {
	Code *int            `json:"code"`
	Msg  json.RawMessage `json:"msg"`
}

func parseV3(b []byte) (replyV3, error) {
	var r replyV3
	if err := decode(b, &r); err != nil {
		return r, err
	}
	if r.Code == nil {
		return r, fmt.Errorf("%w: no code", device.ErrProtocol)
	}
	if *r.Code == 0 {
		return r, nil
	}
	var text string
	_ = json.Unmarshal(r.Msg, &text)
	if authWords(text) {
		return r, fmt.Errorf("%w (code %d)", errToken, *r.Code)
	}
	return r, fmt.Errorf("%w: code %d %q", device.ErrRefused, *r.Code, clip(text))
}

// authWords: the sources give no code list for v3; a refusal that
// speaks of the token, password, account or permission is taken as a
// credentials refusal.
func authWords(s string) bool {
	s = strings.ToLower(s)
	for _, w := range []string{"token", "passw", "account", "permission", "auth"} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// tokenV3 is base64(sha256(cmd + password + salt + ts)), first 8
// characters.
func tokenV3(cmd, password, salt string, ts int64) string {
	sum := sha256.Sum256([]byte(cmd + password + salt + strconv.FormatInt(ts, 10)))
	return base64.StdEncoding.EncodeToString(sum[:])[:8]
}

func credsV3(t *device.Target) (user, pw string) {
	user, pw = DefaultUserV3, DefaultPasswordV3
	if t.Options != nil && t.Options.User != "" {
		user = t.Options.User
	}
	if t.Options != nil && !t.Options.Password.IsZero() {
		pw = t.Options.Password.Reveal()
	}
	return user, pw
}

func (d *Driver) saltV3(ctx context.Context, t *device.Target, addr string) (string, bool, error) {
	if s, ok := t.Session.(*sessionV3); ok && s.salt != "" {
		return s.salt, false, nil
	}
	b, err := d.roundtripV3(ctx, addr, map[string]any{"cmd": "get.device.info", "param": "salt"})
	if err != nil {
		return "", false, err
	}
	r, err := parseV3(b)
	if err != nil {
		return "", false, err
	}
	var m struct {
		Salt string `json:"salt"`
	}
	if json.Unmarshal(r.Msg, &m) != nil || m.Salt == "" {
		return "", false, fmt.Errorf("%w: get.device.info gave no salt", device.ErrProtocol)
	}
	t.Session = &sessionV3{salt: m.Salt}
	return m.Salt, true, nil
}

// setV3 sends a set.* command, fetching the salt when not cached and
// again once when a cached salt's token is refused.
func (d *Driver) setV3(ctx context.Context, t *device.Target, cmd string, param any) error {
	addr := t.HostPort(DefaultPortV3)
	user, pw := credsV3(t)
	for {
		salt, fresh, err := d.saltV3(ctx, t, addr)
		if err != nil {
			return err
		}
		ts := d.cfg.Now().Unix()
		req := map[string]any{"cmd": cmd, "token": tokenV3(cmd, pw, salt, ts), "account": user, "ts": ts}
		if param != nil {
			req["param"] = param
		}
		b, err := d.roundtripV3(ctx, addr, req)
		if err != nil {
			return err
		}
		_, err = parseV3(b)
		if err == nil || !errors.Is(err, errToken) {
			return err
		}
		t.Session = nil
		if fresh {
			return fmt.Errorf("%w: %w", device.ErrAuth, err)
		}
	}
}

// statusV3 reads get.miner.status with param ("summary", "pools").
func (d *Driver) statusV3(ctx context.Context, t *device.Target, param string, v any) error {
	b, err := d.roundtripV3(ctx, t.HostPort(DefaultPortV3), map[string]any{"cmd": "get.miner.status", "param": param})
	if err != nil {
		return err
	}
	r, err := parseV3(b)
	if err != nil {
		return err
	}
	return decode(r.Msg, v)
}

func (d *Driver) readV3(ctx context.Context, t *device.Target) (device.Reading, error) {
	var m struct {
		Summary struct {
			Power *num `json:"power-realtime"`
			Hash  *num `json:"hash-realtime"`
		} `json:"summary"`
	}
	var r device.Reading
	if err := d.statusV3(ctx, t, "summary", &m); err != nil {
		return r, err
	}
	if p := m.Summary.Power; p != nil && *p >= 0 {
		r.PowerW, r.HasPower = float64(*p), true
	}
	if h := m.Summary.Hash; h != nil {
		r.HashrateTHs, r.HasHashrate = float64(*h), true
	}
	return r, nil
}

func (d *Driver) poolsV3(ctx context.Context, t *device.Target) ([]string, error) {
	var m struct {
		Pools []struct {
			URL string `json:"url"`
		} `json:"pools"`
	}
	if err := d.statusV3(ctx, t, "pools", &m); err != nil {
		return nil, err
	}
	out := make([]string, len(m.Pools))
	for i, p := range m.Pools {
		out[i] = p.URL
	}
	return out, nil
}
