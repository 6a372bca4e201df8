package stratumact

import (
	"sync/atomic"
	"time"

	"github.com/hashgate/hashgate/stratum/proxy"
	"github.com/hashgate/hashgate/switcher"
)

// Bridge connects one proxy and one switcher. Create it, pass it to
// proxy.Config.Gate and switcher.New, then Bind both.
type Bridge struct {
	proxy    atomic.Pointer[proxy.Server]
	switcher atomic.Pointer[switcher.Switcher]
}

// Bind sets the two sides once they exist. Until then the gate admits no
// rig and the actuator does nothing.
func (b *Bridge) Bind(p *proxy.Server, s *switcher.Switcher) {
	b.proxy.Store(p)
	b.switcher.Store(s)
}

// Authorized implements proxy.Gate: a rig the switcher keeps no record
// of (its name, or its network full of records) is refused, so that it
// does not stay connected without work, holding memory, for ever.
func (b *Bridge) Authorized(r proxy.Rig) proxy.Verdict {
	s := b.switcher.Load()
	if s == nil {
		return proxy.Hold
	}
	switch admitted, refused := s.RigArrived(r.Name, r.Remote); {
	case refused != "":
		return proxy.Refuse
	case admitted:
		return proxy.Admit
	}
	return proxy.Hold
}

// Disconnected implements proxy.Gate.
func (b *Bridge) Disconnected(r proxy.Rig) {
	if s := b.switcher.Load(); s != nil {
		s.RigDisconnected(r.Name)
	}
}

// Failover is proxy.Config.OnFailover: the switcher audits it.
func (b *Bridge) Failover(from, to string) {
	if s := b.switcher.Load(); s != nil {
		s.PoolFailover(from, to)
	}
}

// Park implements switcher.Actuator.
func (b *Bridge) Park(rig string) error {
	if p := b.proxy.Load(); p != nil {
		p.SetAdmission(rig, false)
	}
	return nil
}

// Resume implements switcher.Actuator.
func (b *Bridge) Resume(rig string) error {
	if p := b.proxy.Load(); p != nil {
		p.SetAdmission(rig, true)
	}
	return nil
}

// Forget implements switcher.Forgetter: the proxy drops the accounts of
// rigs the switcher forgot.
func (b *Bridge) Forget(rigs []string) {
	if p := b.proxy.Load(); p != nil {
		p.ForgetWorkers(rigs)
	}
}

// LastShare implements switcher.ShareSource.
func (b *Bridge) LastShare(rig string) time.Time {
	if p := b.proxy.Load(); p != nil {
		last, _, _ := p.WorkerActivity(rig)
		return last
	}
	return time.Time{}
}

// LastSubmit implements switcher.ShareSource: any share, rejected ones
// included.
func (b *Bridge) LastSubmit(rig string) time.Time {
	if p := b.proxy.Load(); p != nil {
		return p.WorkerLastSubmit(rig)
	}
	return time.Time{}
}

// HashrateTHs implements switcher.ShareSource (10-minute average).
func (b *Bridge) HashrateTHs(rig string) float64 {
	if p := b.proxy.Load(); p != nil {
		_, h, _ := p.WorkerActivity(rig)
		return h / 1e12
	}
	return 0
}

var (
	_ proxy.Gate           = (*Bridge)(nil)
	_ switcher.Actuator    = (*Bridge)(nil)
	_ switcher.ShareSource = (*Bridge)(nil)
	_ switcher.Forgetter   = (*Bridge)(nil)
)
