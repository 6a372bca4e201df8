package proxy

import (
	"encoding/hex"
	"fmt"
	"sync"

	"github.com/hashgate/hashgate/stratum"
	"github.com/hashgate/hashgate/stratum/upstream"
)

// maxJobs bounds the jobs a session remembers between clean_jobs; a share
// for an older job is stale. Pools send a new job every 30-60 s and a clean
// one every block, so 16 covers several minutes of rolling ntime work.
const maxJobs = 16

// job is one pool job under hashgate's own id.
type job struct {
	id        string
	poolJobID string
	notify    *stratum.Notify
	bytes     []byte // the notify line as the pool flagged it, encoded once

	cleanOnce sync.Once
	clean     []byte // the same job with clean_jobs=true, for miners starting on it
}

func newJob(id string, n *stratum.Notify) *job {
	j := &job{id: id, poolJobID: n.JobID, notify: n}
	j.bytes, _ = stratum.AppendRequest(nil, nil, stratum.MethodNotify, n.Params(id))
	return j
}

// cleanBytes is the job as a fresh start: older work must be dropped.
func (j *job) cleanBytes() []byte {
	if j.notify.Clean {
		return j.bytes
	}
	j.cleanOnce.Do(func() {
		c := *j.notify
		c.Clean = true
		j.clean, _ = stratum.AppendRequest(nil, nil, stratum.MethodNotify, c.Params(j.id))
	})
	return j.clean
}

// upSession is one pool session as the proxy uses it: its share of the
// miners, their prefixes, and the jobs it has sent them.
type upSession struct {
	srv  *Server
	sess *upstream.Session
	pool int // index in the pool list

	mu         sync.Mutex
	dead       bool
	en1Hex     string
	en2Size    int // the pool's N
	k          int // prefix bytes
	alloc      *prefixAllocator
	miners     map[*minerConn]struct{}
	jobs       map[string]*job
	order      []string
	current    *job
	difficulty float64
	mask       uint32

	// scratch is the fan-out snapshot; only the session's reader goroutine
	// (which calls the Handler methods) uses it.
	scratch []*minerConn
	// lost is called once when the session ends, with its miners.
	lost func(us *upSession, miners []*minerConn, err error)
}

// errNoPrefix says a pool leaves no extranonce2 bytes to split.
type errNoPrefix struct {
	pool       string
	en2, minEN int
}

func (e *errNoPrefix) Error() string {
	return fmt.Sprintf("pool %q gives extranonce2_size %d: with min_miner_extranonce2_size %d no prefix byte is left to split it between miners (k=0); lower min_miner_extranonce2_size or use another pool",
		e.pool, e.en2, e.minEN)
}

func newUpSession(srv *Server, pool int, sess *upstream.Session) (*upSession, error) {
	us := &upSession{srv: srv, sess: sess, pool: pool, miners: make(map[*minerConn]struct{}), jobs: make(map[string]*job)}
	if err := us.setExtranonceLocked(sess.Extranonce1(), sess.Extranonce2Size()); err != nil {
		return nil, err
	}
	us.mask = sess.VersionMask()
	return us, nil
}

func (us *upSession) setExtranonceLocked(en1 []byte, n int) error {
	k := prefixBytes(n, us.srv.cfg.MinMinerExtranonce2Size)
	if k == 0 {
		return &errNoPrefix{pool: us.sess.Pool(), en2: n, minEN: us.srv.cfg.MinMinerExtranonce2Size}
	}
	us.en1Hex, us.en2Size, us.k = hex.EncodeToString(en1), n, k
	us.alloc = newPrefixAllocator(k)
	return nil
}

// allocPrefix reserves a prefix; false when full or dead.
func (us *upSession) allocPrefix() (uint32, bool) {
	us.mu.Lock()
	defer us.mu.Unlock()
	if us.dead {
		return 0, false
	}
	return us.alloc.alloc()
}

// attach adds m with a prefix allocPrefix gave; false if the session died.
func (us *upSession) attach(m *minerConn, prefix uint32) bool {
	us.mu.Lock()
	defer us.mu.Unlock()
	if us.dead {
		return false
	}
	us.miners[m] = struct{}{}
	m.setPrefix(us, prefix, us.k)
	return true
}

// detach removes m and quarantines its prefix.
func (us *upSession) detach(m *minerConn, prefix uint32) {
	us.mu.Lock()
	defer us.mu.Unlock()
	if _, ok := us.miners[m]; ok {
		delete(us.miners, m)
		us.alloc.release(prefix)
	}
}

// minerExtranonce is what a miner with this prefix is told to use.
func (us *upSession) minerExtranonce(prefixHex string) (en1 string, en2Size int) {
	us.mu.Lock()
	defer us.mu.Unlock()
	return us.en1Hex + prefixHex, us.en2Size - us.k
}

func (us *upSession) minerEN2Size() int {
	us.mu.Lock()
	defer us.mu.Unlock()
	return us.en2Size - us.k
}

func (us *upSession) poolDifficulty() float64 {
	us.mu.Lock()
	defer us.mu.Unlock()
	return us.difficulty
}

func (us *upSession) versionMask() uint32 {
	us.mu.Lock()
	defer us.mu.Unlock()
	return us.mask
}

func (us *upSession) currentJob() *job {
	us.mu.Lock()
	defer us.mu.Unlock()
	return us.current
}

func (us *upSession) lookupJob(id string) *job {
	us.mu.Lock()
	defer us.mu.Unlock()
	return us.jobs[id]
}

func (us *upSession) load() (inUse int, capacity uint64) {
	us.mu.Lock()
	defer us.mu.Unlock()
	return us.alloc.inUse, us.alloc.capacity()
}

// snapshot copies the miners into the scratch slice for a fan-out, so no
// lock is held while queueing (queueing may close a slow miner, which
// detaches it from this session).
func (us *upSession) snapshotLocked() []*minerConn {
	us.scratch = us.scratch[:0]
	for m := range us.miners {
		us.scratch = append(us.scratch, m)
	}
	return us.scratch
}

// Notify fans a pool job out: one encode, the same bytes to every miner.
func (us *upSession) Notify(_ *upstream.Session, n *stratum.Notify) {
	j := newJob(us.srv.mintJobID(), n)
	us.mu.Lock()
	if n.Clean {
		clear(us.jobs)
		us.order = us.order[:0]
		us.alloc.clean()
	}
	us.jobs[j.id] = j
	us.order = append(us.order, j.id)
	if len(us.order) > maxJobs {
		delete(us.jobs, us.order[0])
		us.order = append(us.order[:0], us.order[1:]...)
	}
	us.current = j
	miners := us.snapshotLocked()
	us.mu.Unlock()
	sent := 0
	for _, m := range miners {
		if m.isWorking() {
			m.sendNotify(j.bytes, n.Clean)
			sent++
		}
	}
	clear(miners)
	us.srv.stats.JobsNotified.Add(uint64(sent))
	us.srv.log.Debug().Str("pool", us.sess.Pool()).Str("job", j.id).Str("pool_job", n.JobID).
		Bool("clean", n.Clean).Int("miners", sent).Msg("job")
}

// SetDifficulty forwards the pool's difficulty to its miners.
func (us *upSession) SetDifficulty(_ *upstream.Session, d float64) {
	us.mu.Lock()
	us.difficulty = d
	miners := us.snapshotLocked()
	us.mu.Unlock()
	for _, m := range miners {
		if m.isWorking() {
			m.sendDifficulty(d)
		}
	}
	clear(miners)
}

// SetVersionMask takes effect at once for every rolling miner.
func (us *upSession) SetVersionMask(_ *upstream.Session, mask uint32) {
	us.mu.Lock()
	us.mask = mask
	miners := us.snapshotLocked()
	us.mu.Unlock()
	for _, m := range miners {
		m.mu.Lock()
		rolling := m.rolling
		newMask := m.reqMask & mask
		m.mask = newMask
		m.mu.Unlock()
		if rolling {
			b, _ := stratum.AppendRequest(nil, nil, stratum.MethodSetVersionMask, []string{fmt.Sprintf("%08x", newMask)})
			m.send(b, false)
		}
	}
	clear(miners)
}

// SetExtranonce: the pool changed our extranonce1 (and maybe N). Every
// prefix and job of the session is void; miners that follow
// set_extranonce get a new prefix, the others are asked to reconnect.
func (us *upSession) SetExtranonce(_ *upstream.Session, en1 []byte, n int) {
	us.mu.Lock()
	if err := us.setExtranonceLocked(en1, n); err != nil {
		us.mu.Unlock()
		us.srv.log.Error().Err(err).Msg("pool changed extranonce to something we cannot split; dropping the session")
		us.sess.Abort(err)
		return
	}
	clear(us.jobs)
	us.order = us.order[:0]
	us.current = nil
	miners := append([]*minerConn(nil), us.snapshotLocked()...)
	clear(us.miners)
	us.mu.Unlock()
	for _, m := range miners {
		m.clearSession(us)
		if p, ok := us.allocPrefix(); ok && m.canMove() {
			m.moveTo(us, p)
		} else {
			m.requestReconnect()
		}
	}
}

// Closed hands the session's miners to the pool manager.
func (us *upSession) Closed(_ *upstream.Session, err error) {
	us.mu.Lock()
	us.dead = true
	miners := append([]*minerConn(nil), us.snapshotLocked()...)
	clear(us.miners)
	us.mu.Unlock()
	for _, m := range miners {
		m.clearSession(us)
	}
	if us.lost != nil {
		us.lost(us, miners, err)
	}
}
