package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashgate/hashgate/internal/bench"
)

// The floor: the cheapest exchange a poller can make, measured beside
// hashgate's reads in the same run, against trivial servers in the
// emulator processes. A request is one short line; the answer is
// floorAnswer (about the size of a small firmware answer). A request
// starting with 'K' keeps the connection open for the next one; any
// other is answered and the server closes, as cgminer-style APIs do.

// floorListeners per emulator process: a fresh connection per exchange
// leaves a TIME_WAIT entry per connection, and one address pair has
// ~28,000 ports, so the exchanges are spread over several ports.
const floorListeners = 32

var floorAnswer = []byte(`{"STATUS":[{"STATUS":"S","When":1700000000,"Code":11,"Msg":"Summary"}],"SUMMARY":[{"Elapsed":1234,"GHS 5s":104500.5,"GHS av":100000.0,"Power":3250}],"id":1}` + "\x00")

// floorServers is the emulator process's side: TCP listeners answering
// lines, and one HTTP server answering floorAnswer to any GET.
type floorServers struct {
	lns  []net.Listener
	http *http.Server
	wg   sync.WaitGroup
}

func startFloor(host string) (*floorServers, []string, string, error) {
	s := &floorServers{}
	var addrs []string
	for range floorListeners {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			s.close()
			return nil, nil, "", err
		}
		s.lns = append(s.lns, ln)
		addrs = append(addrs, ln.Addr().String())
		s.wg.Add(1)
		go s.accept(ln)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		s.close()
		return nil, nil, "", err
	}
	s.lns = append(s.lns, ln)
	s.http = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(floorAnswer[:len(floorAnswer)-1])
	})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = s.http.Serve(ln)
	}()
	return s, addrs, ln.Addr().String(), nil
}

func (s *floorServers) accept(ln net.Listener) {
	defer s.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go serveFloor(c) // ends with its connection (deadline below)
	}
}

func serveFloor(c net.Conn) {
	defer c.Close()
	br := bufio.NewReaderSize(c, 256)
	for {
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		line, err := br.ReadSlice('\n')
		if err != nil {
			return
		}
		if _, err := c.Write(floorAnswer); err != nil || line[0] != 'K' {
			return
		}
	}
}

func (s *floorServers) close() {
	if s.http != nil {
		_ = s.http.Close()
	}
	for _, ln := range s.lns {
		_ = ln.Close()
	}
	s.wg.Wait()
}

// floorCost is one floor measurement: this process's CPU per exchange
// (the client side, with the kernel work loopback charges to it) and
// the emulator processes' (the server side).
type floorCost struct {
	Kind        string
	Exchanges   int
	Errors      int
	CPUPer      time.Duration
	EmuCPUPer   time.Duration
	Wall        time.Duration
	Concurrency int
}

// measureFloor runs n exchanges of each kind with `workers` goroutines
// against the emulator processes' floor servers.
func measureFloor(g *rigGroup, n, workers int, prof func(string) func()) []floorCost {
	var tcp, web []string
	for _, p := range g.procs {
		tcp = append(tcp, p.floorTCP...)
		web = append(web, p.floorHTTP)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true, DisableCompression: true}}
	kinds := []struct {
		name string
		run  func(w, i int, st *floorState) error
	}{
		{"tcp, a connection per exchange", func(_, i int, _ *floorState) error { return floorFresh(tcp[i%len(tcp)]) }},
		{"tcp, kept-open connection", func(w, i int, st *floorState) error { return st.kept(tcp[w%len(tcp)]) }},
		{"http GET, a connection per request (net/http)", func(_, i int, _ *floorState) error {
			return floorHTTP(client, web[i%len(web)])
		}},
		{"http GET, a connection per request (Request.Write, ReadResponse)", func(_, i int, _ *floorState) error {
			return floorHTTPLean(web[i%len(web)])
		}},
	}
	var out []floorCost
	for _, k := range kinds {
		runtime.GC()
		stop := prof("floor-" + strings.Fields(k.name)[0] + fmt.Sprint(len(out)))
		c0, _ := bench.ReadProc(0)
		e0 := g.cpu()
		wall, errs := floorLoop(n, workers, k.run)
		c1, _ := bench.ReadProc(0)
		e1 := g.cpu()
		stop()
		out = append(out, floorCost{Kind: k.name, Exchanges: n, Errors: errs, Wall: wall, Concurrency: workers,
			CPUPer: (c1.CPU - c0.CPU) / time.Duration(n), EmuCPUPer: (e1 - e0) / time.Duration(n)})
	}
	return out
}

// floorState is one goroutine's kept-open connection.
type floorState struct {
	c  net.Conn
	br *bufio.Reader
}

func (st *floorState) kept(addr string) error {
	if st.c == nil {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return err
		}
		st.c, st.br = c, bufio.NewReaderSize(c, 512)
	}
	_ = st.c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(st.c, "K summary\n"); err != nil {
		return err
	}
	_, err := st.br.ReadSlice(0)
	return err
}

func floorLoop(n, workers int, run func(w, i int, st *floorState) error) (time.Duration, int) {
	var next, errs atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := &floorState{}
			defer func() {
				if st.c != nil {
					st.c.Close()
				}
			}()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if run(w, i, st) != nil {
					errs.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start), int(errs.Load())
}

// floorFresh: dial, write a line, read the answer to the NUL, close.
func floorFresh(addr string) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "summary\n"); err != nil {
		return err
	}
	var buf [512]byte
	got := 0
	for {
		m, err := c.Read(buf[got:])
		got += m
		if got > 0 && buf[got-1] == 0 {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func floorHTTP(c *http.Client, addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/summary", nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return err
}

// floorHTTPLean is the same GET without http.Transport: net/http's own
// request writer and response reader on a connection of its own (no
// per-connection goroutines, no pool): what a lean client could cost.
func floorHTTPLean(addr string) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/summary", nil)
	if err != nil {
		return err
	}
	req.Close = true
	if err := req.Write(c); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReaderSize(c, 1024), req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return err
}
