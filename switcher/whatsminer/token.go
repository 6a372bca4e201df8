package whatsminer

import (
	"context"
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
	key := wmcrypt.Key(pw, string(ti.Salt))
	s := &session{key: key, sign: wmcrypt.Sign(key, string(ti.Time), string(ti.NewSalt)), made: d.cfg.Now()}
	t.Session = s
	return s, true, nil
}
