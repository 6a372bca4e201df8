package proxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/hashgate/hashgate/internal/rigname"
	"github.com/hashgate/hashgate/stratum"
)

// sourceOf is what the per-address handshake cap counts: an IPv4 address,
// or the /64 of an IPv6 one (a single host is commonly given a whole /64,
// and counting its 2^64 addresses apart made the cap none).
func sourceOf(ip net.IP) string {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return ip.String()
	}
	if a = a.Unmap(); a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

func paramError(err error) *stratum.Error {
	return stratum.NewError(stratum.ErrOther, "bad params: "+err.Error())
}

// onConfigure answers BIP310: the mask a miner gets is its request ∩ what
// the pool granted, never a mask of our own.
func (m *minerConn) onConfigure(msg *stratum.Message) bool {
	c, err := stratum.ParseConfigure(msg.Params)
	if err != nil {
		m.replyError(msg.ID, paramError(err))
		return true
	}
	result := map[string]any{}
	if c.VersionRolling {
		// Antminer firmware sends mining.configure first: after a restart
		// it waits here for a pool like subscribe does (see waitingForPool).
		grant, ok := m.srv.pools.waitGrant(m.poolWaitUntil(), m.srv.stop, func() { m.srv.waitingForPool(m, true) })
		m.srv.waitingForPool(m, false)
		if !ok {
			m.replyError(msg.ID, stratum.NewError(stratum.ErrOther, "no pool available"))
			m.close(reasonNoUpstream, nil)
			return false
		}
		mask := c.VersionRollingMask & grant
		m.mu.Lock()
		m.rolling, m.reqMask, m.mask = true, c.VersionRollingMask, mask
		m.mu.Unlock()
		result["version-rolling"] = mask != 0
		result["version-rolling.mask"] = fmt.Sprintf("%08x", mask)
	}
	if c.MinimumDifficulty > 0 {
		m.mu.Lock()
		_, changed := m.vd.SetFloor(c.MinimumDifficulty)
		m.mu.Unlock()
		if changed {
			m.changeDifficulty(false)
		}
		result["minimum-difficulty"] = true
	}
	if c.SubscribeExtranonce {
		m.mu.Lock()
		m.extranonceSub = true
		m.mu.Unlock()
		result["subscribe-extranonce"] = true
	}
	for _, ext := range c.Extensions {
		if _, ok := result[ext]; !ok {
			result[ext] = false
		}
	}
	b, _ := json.Marshal(result)
	m.reply(msg.ID, b)
	return true
}

// handshakeDeadline is handshake_timeout after the accept.
func (m *minerConn) handshakeDeadline() time.Time {
	return atEpoch(m.accepted).Add(m.srv.cfg.HandshakeTimeout)
}

// poolWaitUntil is how long m may wait for a pool: in its handshake, until
// the handshake's deadline (from accept); after, handshake_timeout.
func (m *minerConn) poolWaitUntil() time.Time {
	m.mu.Lock()
	inHandshake := !m.subscribed || !m.authorized
	m.mu.Unlock()
	if inHandshake {
		return m.handshakeDeadline()
	}
	return time.Now().Add(m.srv.cfg.HandshakeTimeout)
}

// onSubscribe attaches the miner to a pool session with a free prefix,
// waiting for one if the proxy is between pools.
func (m *minerConn) onSubscribe(msg *stratum.Message) bool {
	m.mu.Lock()
	already := m.subscribed
	m.mu.Unlock()
	if !already {
		us, prefix, err := m.srv.pools.acquire(m.poolWaitUntil(), func() { m.srv.waitingForPool(m, true) })
		m.srv.waitingForPool(m, false)
		if err != nil {
			m.replyError(msg.ID, stratum.NewError(stratum.ErrOther, err.Error()))
			m.close(reasonNoUpstream, err)
			return false
		}
		if !us.attach(m, prefix) {
			// The session died between acquire and attach, or m was
			// closed meanwhile (attach refuses it: nothing would detach
			// it, and it would hold its prefix for the session's life).
			// The miner retries like after any lost pool.
			m.replyError(msg.ID, stratum.NewError(stratum.ErrOther, "pool session lost, retry"))
			m.close(reasonNoUpstream, nil)
			return false
		}
	}
	m.mu.Lock()
	m.subscribed = true
	us := m.sess
	prefixHex := m.prefixHex
	m.mu.Unlock()
	m.srv.checkHandshake(m)
	if us == nil {
		m.replyError(msg.ID, stratum.NewError(stratum.ErrOther, "pool session lost, retry"))
		m.close(reasonNoUpstream, nil)
		return false
	}
	en1, en2Size := us.minerExtranonce(prefixHex)
	subID := strconv.FormatUint(m.id, 16)
	b, _ := json.Marshal([]any{
		[][]string{{stratum.MethodSetDifficulty, subID}, {stratum.MethodNotify, subID}},
		en1, en2Size,
	})
	m.reply(msg.ID, b)
	m.maybeStart()
	return true
}

// onAuthorize records a worker. Several workers per connection are fine;
// the rig is named by the first. A name against rigname's rule is
// refused (error 24): names are what accounts and the switcher's records
// are kept under.
func (m *minerConn) onAuthorize(msg *stratum.Message) bool {
	ps, err := stratum.SplitParams(msg.Params)
	var user string
	if err == nil {
		user, err = stratum.StringParam(ps, 0)
	}
	if err != nil || user == "" {
		if err == nil {
			err = errors.New("empty worker name")
		}
		m.replyError(msg.ID, paramError(err))
		return true
	}
	if err := rigname.Check(user); err != nil {
		m.srv.stats.NamesRefused.Add(1)
		if m.srv.limit.Allow("worker name refused", time.Now()) {
			l := m.logger()
			l.Warn().Str("name_start", user[:min(len(user), 64)]).Int("name_bytes", len(user)).Str("reason", err.Error()).Msg("worker name refused")
		}
		m.replyError(msg.ID, stratum.NewError(stratum.ErrUnauthorized, "worker name refused: "+err.Error()))
		return true
	}
	m.mu.Lock()
	first := m.name == ""
	if first {
		m.name = user
		m.authorized = true
	}
	m.mu.Unlock()
	if first {
		return m.authorizeRig(msg.ID, user)
	}
	m.addWorker(user, false)
	m.reply(msg.ID, []byte("true"))
	return true
}

// authorizeRig names m's rig and asks the Gate (unless m is a standby
// connection of a rig it was asked about).
func (m *minerConn) authorizeRig(id json.RawMessage, user string) bool {
	standby, dup, gone, refused := m.srv.named(m, user)
	if gone {
		// Closed meanwhile (evicted): no account, and the Gate never hears
		// of it. The reader ends.
		return false
	}
	v := Hold
	if !standby && !refused {
		v = m.srv.cfg.Gate.Authorized(Rig{ConnID: m.id, Name: user, Remote: m.remote})
		if v == Refuse {
			m.srv.decided(m, user, v)
			refused = true
		}
	}
	if refused {
		m.srv.stats.RefusedByGate.Add(1)
		m.replyError(id, stratum.NewError(stratum.ErrUnauthorized, "unauthorized worker: refused by the admission gate"))
		m.readerClose(reasonRefused, nil)
		return false
	}
	m.addWorker(user, true) // before any work: it may restore the difficulty
	m.reply(id, []byte("true"))
	if dup && m.srv.limit.Allow(msgDuplicateName, time.Now()) {
		l := m.logger()
		l.Warn().Msg(msgDuplicateName)
	}
	if standby {
		m.maybeStart() // its rig's admission, set by named
		return true
	}
	m.srv.decided(m, user, v)
	return true
}

// addWorker gives m an account for worker user (once, at most 64), unless
// m is closed: the accounts of a closed connection were let go already
// (detachClosed) and one attached now would never be.
func (m *minerConn) addWorker(user string, first bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.detached || len(m.workers) >= 64 {
		return
	}
	for _, w := range m.workers {
		if w == user {
			return
		}
	}
	m.workers = append(m.workers, user)
	now := time.Now()
	w := m.srv.workers.attach(user, m.remote, now)
	if m.standby {
		w.retag(true)
	}
	if d := w.workDiff(); first && d > 0 && !m.working.Load() {
		// The rig worked before (e.g. until a park closed its
		// connection): it gets back the difficulty it worked at, not
		// the initial one, which can be far off either way (a flood of
		// shares, or none for minutes). It wins over a difficulty
		// suggested before authorizing (a configured guess); one
		// suggested later is honoured as usual.
		m.vd.Suggest(d, now)
		m.resetDifficulty()
	}
	w.setDifficulty(m.diff, false)
	m.accounts = append(m.accounts, w)
}

const msgDuplicateName = "two live connections from different addresses use the same worker name"

// promote makes a standby connection its rig's own: the one it stood by
// for closed. The server calls it under its mu.
func (m *minerConn) promote() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.standby || m.detached {
		return
	}
	m.standby = false
	for _, w := range m.accounts {
		w.retag(false)
	}
}

func (m *minerConn) onSuggestDifficulty(msg *stratum.Message) {
	ps, err := stratum.SplitParams(msg.Params)
	var d float64
	if err == nil {
		d, err = stratum.FloatParam(ps, 0)
	}
	if err != nil || d <= 0 {
		if err == nil {
			err = errors.New("difficulty must be positive")
		}
		m.replyError(msg.ID, paramError(err))
		return
	}
	m.mu.Lock()
	_, changed := m.vd.Suggest(d, time.Now())
	m.mu.Unlock()
	m.reply(msg.ID, []byte("true"))
	if changed {
		m.changeDifficulty(false)
	}
}
