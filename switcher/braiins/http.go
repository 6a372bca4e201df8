package braiins

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/hashgate/hashgate/switcher/device"
)

// REST paths (Braiins OS Public REST API, see doc.go).
const (
	pathLogin      = "/api/v1/auth/login"
	pathPause      = "/api/v1/actions/pause"
	pathResume     = "/api/v1/actions/resume"
	pathDetails    = "/api/v1/miner/details"
	pathStats      = "/api/v1/miner/stats"
	pathPools      = "/api/v1/pools/"
	pathPoolsBatch = "/api/v1/pools/batch"
)

// session is a rig's login, kept in Target.Session between calls.
type session struct {
	token   string
	ttl     time.Duration // the firmware's timeout_s; 0: not said
	expires time.Time     // zero: never expires here (a 401 tells)
}

// do sends one authenticated request and decodes its answer into out
// (when not nil). It logs in when the rig has no live token, and once
// more when the miner answers 401 (token expired, miner rebooted). The
// connection closes after the answer: do is a call's last request.
func (d *Driver) do(ctx context.Context, t *device.Target, method, path string, body, out any) error {
	return d.request(ctx, t, method, path, body, out, true)
}

// doThenMore is do for a request the same call follows with another to
// the same rig: the connection stays open for it (one connect and close
// per call, not per request; see New).
func (d *Driver) doThenMore(ctx context.Context, t *device.Target, method, path string, body, out any) error {
	return d.request(ctx, t, method, path, body, out, false)
}

func (d *Driver) request(ctx context.Context, t *device.Target, method, path string, body, out any, last bool) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return fmt.Errorf("braiins %s: %s %s: %w", t.Rig, method, path, err)
		}
	}
	for attempt := 0; ; attempt++ {
		s, err := d.session(ctx, t)
		if err != nil {
			return err
		}
		code, data, err := d.send(ctx, t, method, path, s.token, payload, last)
		if err != nil {
			return fmt.Errorf("braiins %s: %s %s: %w", t.Rig, method, path, err)
		}
		if code == http.StatusUnauthorized && attempt == 0 {
			t.Session = nil
			continue
		}
		if err := statusError(code); err != nil {
			return fmt.Errorf("braiins %s: %s %s: %w", t.Rig, method, path, err)
		}
		s.touch(d.now())
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("braiins %s: %s %s: %w: %v", t.Rig, method, path, device.ErrProtocol, err)
		}
		return nil
	}
}

// session returns the rig's live session, logging in when it has none.
func (d *Driver) session(ctx context.Context, t *device.Target) (*session, error) {
	if s, ok := t.Session.(*session); ok && s.token != "" && (s.expires.IsZero() || d.now().Before(s.expires)) {
		return s, nil
	}
	t.Session = nil
	user, pass := DefaultUser, ""
	if o := t.Options; o != nil {
		if o.User != "" {
			user = o.User
		}
		pass = o.Password.Reveal()
	}
	payload, _ := json.Marshal(loginRequest{Username: user, Password: pass})
	// A request always follows the login: its connection stays open.
	code, data, err := d.send(ctx, t, http.MethodPost, pathLogin, "", payload, false)
	if err != nil {
		return nil, fmt.Errorf("braiins %s: login: %w", t.Rig, err)
	}
	if err := statusError(code); err != nil {
		return nil, fmt.Errorf("braiins %s: login: %w", t.Rig, err)
	}
	lr, err := parseLogin(data)
	if err != nil {
		return nil, fmt.Errorf("braiins %s: login: %w", t.Rig, err)
	}
	s := &session{token: lr.Token, ttl: time.Duration(lr.TimeoutS) * time.Second}
	s.touch(d.now())
	t.Session = s
	return s, nil
}

// touch restarts the token's validity: the firmware refreshes it to
// timeout_s with each request. A margin keeps us from sending a token in
// its last seconds.
func (s *session) touch(now time.Time) {
	if s.ttl <= 0 {
		return
	}
	s.expires = now.Add(s.ttl - s.ttl/10)
}

// send makes one HTTP exchange and returns the status and the body (at
// most maxBody bytes). last: the connection closes after the answer
// ("Connection: close"); otherwise it is kept for the next request.
func (d *Driver) send(ctx context.Context, t *device.Target, method, path, token string, payload []byte, last bool) (int, []byte, error) {
	req, err := device.NewRequest(ctx, method, "http://"+t.HostPort(DefaultPort)+path, payload)
	if err != nil {
		return 0, nil, err
	}
	req.Close = last
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	data, err := device.ReadBody(resp, maxBody)
	return resp.StatusCode, data, err
}

// statusError maps an HTTP status to the fleet's errors: 401/403 are
// refused credentials, other 4xx a refusal, 5xx a retryable failure (the
// firmware answers 500 while bosminer reconfigures).
func statusError(code int) error { return device.StatusError(code, "miner") }
