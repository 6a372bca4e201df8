package fleet

// A small test firmware: a device.Driver speaking a one-line protocol over
// real TCP to an in-test server that plays every rig (keyed by rig name),
// with the behaviours the fleet must survive: prompt, slow, hung, dead
// port, lying (accepts a curtail and keeps mining), refusing credentials,
// busy. Request: "VERB RIG PASSWORD [ARG]\n"; answers: "ok", "state
// mining|sleeping POWER THS", "pools URL,URL", "err auth|busy|TEXT".

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashgate/hashgate/switcher/device"
)

const (
	miningW   = 3250.0
	miningTHs = 110.0
	sleepW    = 12.0
)

// fwRig is one emulated rig's behaviour and what it saw.
type fwRig struct {
	sleeping bool
	lying    bool
	hung     bool
	delay    time.Duration
	password string
	busyLeft int
	pools    []string

	curtails, resumes, reads, setPools int
	lights                             int      // light reads (lightDriver)
	readLog                            []string // "read" and "light", in order
	inCall, maxInCall                  int
}

type fwEvent struct {
	rig, verb string
	at        time.Time
}

type fwServer struct {
	ln      net.Listener
	closing chan struct{}
	wg      sync.WaitGroup

	mu     sync.Mutex
	rigs   map[string]*fwRig
	events []fwEvent
	conns  map[net.Conn]struct{}
}

func newFW(t testing.TB) *fwServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fwServer{ln: ln, closing: make(chan struct{}), rigs: map[string]*fwRig{}, conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.close)
	return s
}

func (s *fwServer) addr() string { return s.ln.Addr().String() }

// rig adds (or returns) a rig, mining, with password "pw".
func (s *fwServer) rig(name string) *fwRig {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rigs[name]
	if r == nil {
		r = &fwRig{password: "pw"}
		s.rigs[name] = r
	}
	return r
}

// with runs fn on a rig under the server's lock.
func (s *fwServer) with(name string, fn func(r *fwRig)) {
	s.rig(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s.rigs[name])
}

func (s *fwServer) snapshot(name string) fwRig {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.rigs[name]
}

func (s *fwServer) eventsCopy() []fwEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]fwEvent(nil), s.events...)
}

func (s *fwServer) close() {
	select {
	case <-s.closing:
		return
	default:
	}
	close(s.closing)
	_ = s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *fwServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serve(c)
	}
}

func (s *fwServer) serve(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		_ = c.Close()
	}()
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return
	}
	f := strings.Fields(line)
	if len(f) < 3 {
		_, _ = io.WriteString(c, "err malformed\n")
		return
	}
	verb, name, pw := f[0], f[1], f[2]
	arg := ""
	if len(f) > 3 {
		arg = f[3]
	}
	hung, delay, done := s.begin(name, verb)
	if hung {
		_, _ = io.Copy(io.Discard, c) // until the caller gives up or the server closes
		done()
		return
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-s.closing:
			done()
			return
		}
	}
	ans := s.answer(name, verb, pw, arg)
	done() // before the caller can see the answer
	_, _ = io.WriteString(c, ans+"\n")
}

// begin records a call and returns the rig's timing behaviour.
func (s *fwServer) begin(name, verb string) (hung bool, delay time.Duration, done func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rigs[name]
	if r == nil {
		return false, 0, func() {}
	}
	r.inCall++
	r.maxInCall = max(r.maxInCall, r.inCall)
	if verb != "read" && verb != "pools" && verb != "light" {
		s.events = append(s.events, fwEvent{name, verb, time.Now()})
	}
	return r.hung, r.delay, func() { s.mu.Lock(); r.inCall--; s.mu.Unlock() }
}

func (s *fwServer) answer(name, verb, pw, arg string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rigs[name]
	switch {
	case r == nil:
		return "err no such rig"
	case pw != r.password:
		return "err auth"
	case r.busyLeft > 0 && verb != "read":
		r.busyLeft--
		return "err busy"
	}
	switch verb {
	case "light":
		r.lights++
		r.readLog = append(r.readLog, verb)
		if r.sleeping {
			return fmt.Sprintf("light %g 0", sleepW)
		}
		return fmt.Sprintf("light %g %g", miningW, miningTHs)
	case "read":
		r.reads++
		r.readLog = append(r.readLog, verb)
		if r.sleeping {
			return fmt.Sprintf("state sleeping %g 0", sleepW)
		}
		return fmt.Sprintf("state mining %g %g", miningW, miningTHs)
	case "curtail":
		r.curtails++
		r.sleeping = r.sleeping || !r.lying
		return "ok"
	case "resume":
		r.resumes++
		r.sleeping = false
		return "ok"
	case "pools":
		return "pools " + strings.Join(r.pools, ",")
	case "setpools":
		r.setPools++
		r.pools = strings.Split(arg, ",")
		return "ok"
	}
	return "err unknown verb"
}

// testDriver is the firmware's client: one connection per call, every
// read and write bounded by ctx.
type testDriver struct{ name string }

type fwSession struct{ calls int }

func (d testDriver) Name() string { return d.name }

func (d testDriver) Curtail(ctx context.Context, t *device.Target) error {
	_, err := d.call(ctx, t, "curtail", "")
	return err
}

func (d testDriver) Resume(ctx context.Context, t *device.Target) error {
	_, err := d.call(ctx, t, "resume", "")
	return err
}

func (d testDriver) Read(ctx context.Context, t *device.Target) (device.Reading, error) {
	ans, err := d.call(ctx, t, "read", "")
	if err != nil {
		return device.Reading{}, err
	}
	f := strings.Fields(ans)
	if len(f) != 4 || f[0] != "state" {
		return device.Reading{}, fmt.Errorf("read %q: %w", ans, device.ErrProtocol)
	}
	p, err1 := strconv.ParseFloat(f[2], 64)
	h, err2 := strconv.ParseFloat(f[3], 64)
	if err := errors.Join(err1, err2); err != nil {
		return device.Reading{}, fmt.Errorf("read %q: %w", ans, device.ErrProtocol)
	}
	st := device.StateMining
	if f[1] == "sleeping" {
		st = device.StateSleeping
	}
	return device.Reading{State: st, PowerW: p, HasPower: true, HashrateTHs: h, HasHashrate: true}, nil
}

// lightDriver is testDriver with a light read: power and hashrate, no
// state (as a Whatsminer's summary or a Braiins OS stats read).
type lightDriver struct{ testDriver }

func (d lightDriver) ReadLight(ctx context.Context, t *device.Target) (device.Reading, error) {
	ans, err := d.call(ctx, t, "light", "")
	if err != nil {
		return device.Reading{}, err
	}
	var p, h float64
	if _, err := fmt.Sscanf(ans, "light %g %g", &p, &h); err != nil {
		return device.Reading{}, fmt.Errorf("light %q: %w", ans, device.ErrProtocol)
	}
	return device.Reading{PowerW: p, HasPower: true, HashrateTHs: h, HasHashrate: true}, nil
}

func (d testDriver) Pools(ctx context.Context, t *device.Target) ([]string, error) {
	ans, err := d.call(ctx, t, "pools", "")
	if err != nil {
		return nil, err
	}
	list, ok := strings.CutPrefix(ans, "pools ")
	if !ok {
		return []string{}, nil
	}
	return strings.Split(list, ","), nil
}

func (d testDriver) SetPools(ctx context.Context, t *device.Target, pools []device.Pool) error {
	urls := make([]string, len(pools))
	for i, p := range pools {
		urls[i] = p.URL
	}
	_, err := d.call(ctx, t, "setpools", strings.Join(urls, ","))
	return err
}

func (d testDriver) call(ctx context.Context, t *device.Target, verb, arg string) (string, error) {
	var dl net.Dialer
	c, err := dl.DialContext(ctx, "tcp", t.HostPort(4028))
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", verb, t.Rig, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if s, _ := t.Session.(*fwSession); s != nil {
		s.calls++
	} else {
		t.Session = &fwSession{calls: 1}
	}
	if _, err := fmt.Fprintf(c, "%s %s %s %s\n", verb, t.Rig, t.Options.Password.Reveal(), arg); err != nil {
		return "", fmt.Errorf("%s %s: %w", verb, t.Rig, err)
	}
	ans, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", verb, t.Rig, err)
	}
	ans = strings.TrimSpace(ans)
	switch {
	case ans == "err auth":
		return "", fmt.Errorf("%s %s: %w", verb, t.Rig, device.ErrAuth)
	case ans == "err busy":
		return "", fmt.Errorf("%s %s: %w", verb, t.Rig, device.ErrBusy)
	case strings.HasPrefix(ans, "err "):
		return "", fmt.Errorf("%s %s: %s: %w", verb, t.Rig, ans, device.ErrRefused)
	}
	return ans, nil
}
