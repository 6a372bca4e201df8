package whatsminer

import (
	"context"
	"sync"
	"time"

	"github.com/hashgate/hashgate/switcher/device"
	"github.com/hashgate/hashgate/switcher/whatsminer/wmcrypt"
)

// session is the rig's token, kept in Target.Session (about 80 bytes):
// the md5-crypt key (derived from the password: a secret) and the sign
// of one get_token answer.
type session struct {
	key, sign string
	made      time.Time
}

// String and GoString keep the key and sign out of logs and %v.
func (s *session) String() string   { return "whatsminer token" }
func (s *session) GoString() string { return "whatsminer token" }

// token returns the rig's cached token while it is young enough, else a
// new one from get_token; fresh tells which.
func (d *Driver) token(ctx context.Context, t *device.Target, addr string) (*session, bool, error) {
	if s, ok := t.Session.(*session); ok && d.cfg.Now().Sub(s.made) < d.cfg.TokenTTL {
		return s, false, nil
	}
	t.Session = nil
	b, err := d.roundtrip(ctx, addr, "get_token", []byte(`{"cmd":"get_token"}`))
	if err != nil {
		return nil, false, err
	}
	ti, err := parseToken(b)
	if err != nil {
		return nil, false, err
	}
	pw := DefaultPassword
	if t.Options != nil && !t.Options.Password.IsZero() {
		pw = t.Options.Password.Reveal()
	}
	key := d.keys.get(pw, string(ti.Salt))
	s := &session{key: key, sign: wmcrypt.Sign(key, string(ti.Time), string(ti.NewSalt)), made: d.cfg.Now()}
	t.Session = s
	return s, true, nil
}

// keyCache keeps md5-crypt(password, salt), the costly half of a token:
// the salt is the firmware's constant (doc.go), so every rig of a group
// shares one key, and a new token costs one md5-crypt (its sign), not
// two. Bounded: past maxKeys entries it starts over. The keys are
// secrets: never printed, never leave the process.
type keyCache struct {
	mu sync.Mutex
	m  map[keyID]string
}

type keyID struct{ password, salt string }

const maxKeys = 64

func (c *keyCache) get(password, salt string) string {
	id := keyID{password, salt}
	c.mu.Lock()
	k, ok := c.m[id]
	c.mu.Unlock()
	if ok {
		return k
	}
	k = wmcrypt.Key(password, salt)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxKeys {
		c.m = make(map[keyID]string)
	}
	c.m[id] = k
	c.mu.Unlock()
	return k
}
