package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hashgate/hashgate/internal/bench"
)

func kib(b float64) string { return fmt.Sprintf("%.2f KiB", b/1024) }
func mib(b int64) string   { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

func printSummary(w io.Writer, o *options, res *results) {
	fmt.Fprintf(w, "\nhashgate-bench  %s  commit %s  %s\nargs: %s\n", res.Date, res.Commit, res.Machine, strings.Join(res.Args, " "))
	var cols []*tcpResult
	if res.Baseline != nil {
		cols = append(cols, res.Baseline)
	}
	if res.Proxy != nil {
		cols = append(cols, res.Proxy)
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	if len(cols) > 0 {
		fmt.Fprintln(w)
		row := func(name string, f func(r *tcpResult) string) {
			fmt.Fprintf(tw, "  %s", name)
			for _, c := range cols {
				fmt.Fprintf(tw, "\t%s", f(c))
			}
			fmt.Fprintln(tw, "\t")
		}
		row("TCP", func(r *tcpResult) string { return strings.ToUpper(r.Label) })
		row("miners (fleet processes)", func(r *tcpResult) string { return fmt.Sprintf("%d (%d)", r.Miners, r.FleetProcs) })
		row("connect: all at work after", func(r *tcpResult) string {
			return fmt.Sprintf("%s (%d/%d)", bench.FmtDur(r.ConnectTime), r.Working, r.Miners)
		})
		if !o.idle && !o.storm {
			row("notify latency, no shares (p50/p99/max)", func(r *tcpResult) string { return r.LatIdle.String() })
			if o.rate > 0 || o.closed {
				row("notify latency, under shares", func(r *tcpResult) string { return r.LatLoad.String() })
				row("shares/s end to end (answered true)", func(r *tcpResult) string {
					return fmt.Sprintf("%.0f (%d in %.1f s)", r.SharesPerSec, r.Accepted, r.ShareSecs)
				})
				row("shares/s reaching the pool", func(r *tcpResult) string { return fmt.Sprintf("%.0f", r.PoolPerSec) })
				row("share round trip (p50/p99/max)", func(r *tcpResult) string { return r.ShareRTT.String() })
				row("proxy CPU per share", func(r *tcpResult) string {
					if r.CPUPerShare == 0 {
						return "-"
					}
					return fmt.Sprintf("%s (proxy %.0f%% of a core, %.0f%% system)", bench.FmtDur(r.CPUPerShare), r.ProxyCPUShare, r.ProxySysShare)
				})
				row("harness (pool) / fleet CPU", func(r *tcpResult) string {
					return fmt.Sprintf("%.0f%% / %.0f%%", r.HarnessCPU, r.FleetCPU)
				})
				row("pool CPU per share (no proxy: the pool answers every share)", func(r *tcpResult) string {
					if r.Label == "proxy" {
						return "-" // the pool then answers only the proxy's forwarded shares
					}
					return bench.FmtDur(r.HarnessPerShare)
				})
			}
		}
		row("proxy RSS idle -> with miners (peak)", func(r *tcpResult) string {
			if r.RSSIdle == 0 {
				return "-"
			}
			return fmt.Sprintf("%s -> %s (%s)", mib(r.RSSIdle), mib(r.RSSConnected), mib(r.RSSPeak))
		})
		row("RSS per miner", func(r *tcpResult) string {
			if r.RSSIdle == 0 {
				return "-"
			}
			return kib(r.RSSPerMiner)
		})
		if o.idle {
			row(fmt.Sprintf("idle CPU, notify every %s", o.idleInterval), func(r *tcpResult) string {
				if r.RSSIdle == 0 {
					return fmt.Sprintf("pool %.2f%% / fleet %.2f%%", r.IdleHarness, r.IdleFleetCPU)
				}
				return fmt.Sprintf("%.2f%% of a core over %s", r.IdleCPU, r.IdleWindow.Round(time.Second))
			})
			row("idle notify latency (p50/p99/max)", func(r *tcpResult) string { return r.LatIdle.String() })
		}
		if o.storm {
			row("storm: kill -> all back at work", func(r *tcpResult) string {
				if r.Storm == nil {
					return "-"
				}
				return fmt.Sprintf("%s (%d/%d)", bench.FmtDur(r.Storm.KillToAllBack), r.Storm.Back, r.Miners)
			})
			row("storm: restart -> ready / ready -> all", func(r *tcpResult) string {
				if r.Storm == nil {
					return "-"
				}
				return fmt.Sprintf("%s / %s", bench.FmtDur(r.Storm.RestartToReady), bench.FmtDur(r.Storm.ReadyToAllBack))
			})
			row("storm: back at work p50/p99/max", func(r *tcpResult) string {
				if r.Storm == nil {
					return "-"
				}
				return r.Storm.BackHist.String()
			})
			row("storm: connects / refused dials / pool sessions", func(r *tcpResult) string {
				if r.Storm == nil {
					return "-"
				}
				return fmt.Sprintf("%d / %d / %d (accept failed logged %d)", r.Storm.Connects, r.Storm.DialErrors, r.Storm.UpstreamSessions, r.Storm.AcceptFailed)
			})
		}
		row("errors: wrong answers / lost / disconnects / no work", func(r *tcpResult) string {
			return fmt.Sprintf("%d / %d / %d / %d", r.Rejected, r.Lost+r.LostOnDisconnect, r.Disconnects, r.WithoutWork)
		})
		row("stale after a clean job (expected)", func(r *tcpResult) string { return fmt.Sprint(r.StaleExpected) })
		tw.Flush()
	}
	if m := res.Inmem; m != nil {
		fmt.Fprintf(w, "\n  IN-MEMORY SESSIONS (the proxy's session code, no sockets)\n")
		fmt.Fprintf(tw, "  sessions\t%d (%d at work in %s, %d goroutines)\t\n", m.Sessions, m.Working, bench.FmtDur(m.ConnectTime), m.Goroutines)
		fmt.Fprintf(tw, "  heap+stack per session (after GC)\t%s\t\n", kib(m.HeapPer))
		fmt.Fprintf(tw, "  RSS per session\t%s\t\n", kib(m.RSSPer))
		fmt.Fprintf(tw, "  notify delivery, all sessions (p50/p99/max)\t%s\t\n", m.Delivery.String())
		fmt.Fprintf(tw, "  last delivery per round (p50/p99/max)\t%s\t\n", m.LastDelivery.String())
		c := m.Clean
		fmt.Fprintf(tw, "  clean job after %d jobs, %d slow sessions (%s/write)\treached %d; last: fast %s, slow %s\t\n", c.Burst, c.Slow, c.SlowWrite, c.Delivered, bench.FmtDur(c.FastCleanLast), bench.FmtDur(c.SlowCleanLast))
		fmt.Fprintf(tw, "  older job after the clean one\t%d sessions\t\n", c.Violations)
		fmt.Fprintf(tw, "  older jobs written after the clean was sent\tfast sessions at most %d, slow at most %d (1 = the write in progress); %d queued jobs dropped\t\n", c.MaxOlderFast, c.MaxOlderSlow, c.JobsDropped)
		tw.Flush()
	}
	if res.Firmware != nil {
		printFirmware(w, &o.fw, res.Firmware)
	}

	fmt.Fprintf(w, "\n  TARGETS\n")
	b, p := res.Baseline, res.Proxy
	if p != nil && !o.idle && !o.storm {
		if b != nil {
			lim := time.Duration(1.2*float64(b.LatIdle.Quantile(0.99))) + 5*time.Millisecond
			fmt.Fprintf(tw, "  fan-out p99 <= 1.2 x baseline p99 + 5 ms (no shares)\t%s vs %s\t%s\t\n", bench.FmtDur(p.LatIdle.Quantile(0.99)), bench.FmtDur(lim), passFail(p.LatIdle.Quantile(0.99) <= lim))
			if p.LatLoad.Count > 0 && b.LatLoad.Count > 0 {
				lim := time.Duration(1.2*float64(b.LatLoad.Quantile(0.99))) + 5*time.Millisecond
				fmt.Fprintf(tw, "  fan-out p99 <= 1.2 x baseline p99 + 5 ms (under shares)\t%s vs %s\t%s\t\n", bench.FmtDur(p.LatLoad.Quantile(0.99)), bench.FmtDur(lim), passFail(p.LatLoad.Quantile(0.99) <= lim))
			}
		}
		if p.Miners <= 10000 {
			fmt.Fprintf(tw, "  fan-out p99 < 250 ms (target at 10,000 miners)\t%s\t%s\t\n", bench.FmtDur(p.LatIdle.Quantile(0.99)), passFail(p.LatIdle.Quantile(0.99) < 250*time.Millisecond))
		}
		if p.CPUPerShare > 0 {
			got := bench.FmtDur(p.CPUPerShare)
			if b != nil && b.HarnessPerShare > 0 {
				// The pool answering the same fleet without the proxy and
				// without hashing: the sockets' own floor.
				got += fmt.Sprintf(" (no-proxy pool, no hashing: %s)", bench.FmtDur(b.HarnessPerShare))
			}
			fmt.Fprintf(tw, "  proxy CPU per share <= 10 µs\t%s\t%s\t\n", got, passFail(p.CPUPerShare <= 10*time.Microsecond))
			if o.closed || o.rate*float64(o.miners) >= 30000 {
				fmt.Fprintf(tw, "  >= 30,000 shares/s end to end, no errors\t%.0f\t%s\t\n", p.SharesPerSec, passFail(p.SharesPerSec >= 30000 && len(p.errors()) == 0))
			} else {
				fmt.Fprintf(tw, "  >= 30,000 shares/s end to end\t%.0f/s offered: use --rate 3 or --closed\t-\t\n", o.rate*float64(o.miners))
			}
		}
	}
	if p != nil && p.RSSIdle > 0 && !o.storm {
		fmt.Fprintf(tw, "  RSS per connected miner <= 8 KiB\t%s\t%s\t\n", kib(p.RSSPerMiner), passFail(p.RSSPerMiner <= 8192))
	}
	if p != nil && o.idle {
		fmt.Fprintf(tw, "  idle cost < 3%% of a core\t%.2f%%\t%s\t\n", p.IdleCPU, passFail(p.IdleCPU < 3))
	}
	if p != nil && p.Storm != nil {
		fmt.Fprintf(tw, "  restart storm: all back within 15 s\t%s\t%s\t\n", bench.FmtDur(p.Storm.KillToAllBack), passFail(p.Storm.Back == p.Miners && p.Storm.KillToAllBack <= 15*time.Second))
	}
	if m := res.Inmem; m != nil {
		fmt.Fprintf(tw, "  in-memory: memory per session <= 8 KiB (heap+stack / RSS)\t%s / %s\t%s\t\n", kib(m.HeapPer), kib(m.RSSPer), passFail(m.HeapPer <= 8192 && m.RSSPer <= 8192))
		fmt.Fprintf(tw, "  in-memory: last delivery p99 <= 100 ms\t%s\t%s\t\n", bench.FmtDur(m.LastDelivery.Quantile(0.99)), passFail(m.LastDelivery.Quantile(0.99) <= 100*time.Millisecond))
		fmt.Fprintf(tw, "  in-memory: clean job never behind older work\t%d sessions got an older job after it; %d had older queued ahead of it\t%s\t\n", m.Clean.Violations, m.Clean.QueuedAhead, passFail(m.Clean.Violations == 0 && m.Clean.QueuedAhead == 0))
	}
	tw.Flush()
	if o.mode == "short" {
		fmt.Fprintln(w, "  (short mode: timing targets are informative only; the exit code reflects correctness)")
	}
	fmt.Fprintln(w)
	if len(res.Errors) == 0 {
		fmt.Fprintln(w, "correctness: OK (no wrong answers, no lost shares, no unexpected disconnects, every miner has work)")
	} else {
		fmt.Fprintln(w, "CORRECTNESS ERRORS:")
		for _, e := range res.Errors {
			fmt.Fprintln(w, "  "+e)
		}
	}
	for _, r := range cols {
		for _, n := range r.Notes {
			fmt.Fprintf(w, "note (%s): %s\n", r.Label, n)
		}
		for _, p := range r.Profiles {
			fmt.Fprintf(w, "profile (%s): %s\n", r.Label, p)
		}
		if len(r.DaemonLog) > 0 {
			fmt.Fprintf(w, "daemon log lines (%s): %v\n", r.Label, r.DaemonLog)
		}
	}
}
