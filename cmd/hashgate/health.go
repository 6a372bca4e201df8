package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"time"

	"github.com/hashgate/hashgate/internal/termsafe"
)

// The health command asks a running daemon's /healthz and turns the answer
// into an exit code, so a container HEALTHCHECK (exec form: a scratch image
// has no shell or curl) or a monitor can use the binary itself.
const (
	healthOK        = 0 // /healthz answered 200 (also when "degraded": see api's healthz)
	healthUnhealthy = 1 // answered, not 200
	healthNoAnswer  = 3 // no answer: refused, timed out, not HTTP
	// 2 is a usage error, as for every command.

	defaultHealthAPI = "127.0.0.1:8080"
	// healthBodyLimit bounds what is read of the answer (a few hundred
	// bytes in practice): the address may be anything.
	healthBodyLimit = 64 << 10
)

func cmdHealth(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("health", flag.ContinueOnError)
	fs.SetOutput(stderr)
	apiAddr := fs.String("api", "", "the API's host:port (default "+defaultHealthAPI+", or the config's [api] listen with -c)")
	path := configFlag(fs)
	timeout := fs.Duration("timeout", 5*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "hashgate health: unexpected argument %q\n", termsafe.String(fs.Arg(0)))
		return 2
	}
	if *timeout <= 0 {
		fmt.Fprintln(stderr, "hashgate health: --timeout must be positive")
		return 2
	}
	addr, ok := healthAddr(*apiAddr, *path, stderr)
	if !ok {
		return 2
	}
	code, msg := probeHealth(addr, *timeout)
	if code == healthOK {
		fmt.Fprintln(stdout, msg)
	} else {
		fmt.Fprintln(stderr, msg)
	}
	return code
}

// healthAddr picks the address to ask: --api, else the config's [api]
// listen (a wildcard host asked on loopback), else the default.
func healthAddr(flagAddr, configPath string, stderr io.Writer) (string, bool) {
	switch {
	case flagAddr != "" && configPath != "":
		fmt.Fprintln(stderr, "hashgate health: give --api or -c, not both")
		return "", false
	case flagAddr != "":
		if _, _, err := net.SplitHostPort(flagAddr); err != nil {
			fmt.Fprintf(stderr, "hashgate health: --api %q: want host:port\n", termsafe.String(flagAddr))
			return "", false
		}
		return flagAddr, true
	case configPath != "":
		cfg, ok := loadConfig(configPath, stderr)
		if !ok {
			return "", false
		}
		return dialable(cfg.API.Listen), true
	}
	return defaultHealthAPI, true
}

// dialable turns a listen address into one to connect to: an empty or
// unspecified host (0.0.0.0, ::) is asked on the loopback of its family.
func dialable(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	switch ip := net.ParseIP(host); {
	case host == "":
		host = "127.0.0.1"
	case ip != nil && ip.IsUnspecified() && ip.To4() != nil:
		host = "127.0.0.1"
	case ip != nil && ip.IsUnspecified():
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}

// healthBody is what /healthz answers (api's healthz).
type healthBody struct {
	Status     string `json:"status"`
	Error      string `json:"error"`
	StateError string `json:"state_error"`
	AuditError string `json:"audit_error"`
}

// probeHealth asks http://addr/healthz once and returns the exit code and
// a one-line reason. Text from the answer is escaped for the terminal.
func probeHealth(addr string, timeout time.Duration) (int, string) {
	client := &http.Client{
		Timeout: timeout,
		// /healthz never redirects; following one would ask someone else.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	url := "http://" + addr + "/healthz"
	resp, err := client.Get(url)
	url = termsafe.String(url) // as shown: the address is the user's text
	if err != nil {
		return healthNoAnswer, fmt.Sprintf("no answer from %s: %s", url, termsafe.String(errorCause(err).Error()))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, healthBodyLimit))
	if err != nil {
		return healthNoAnswer, fmt.Sprintf("%s: reading the answer: %s", url, termsafe.String(errorCause(err).Error()))
	}
	return judgeHealth(url, resp.StatusCode, data)
}

// judgeHealth turns /healthz's answer into the exit code and a one-line
// reason: 0 only for a 200 that is hashgate's health JSON.
func judgeHealth(url string, status int, data []byte) (int, string) {
	var b healthBody
	if jerr := json.Unmarshal(data, &b); jerr != nil || b.Status == "" {
		if status == http.StatusOK {
			return healthUnhealthy, fmt.Sprintf("%s answered 200 but not hashgate's health JSON", url)
		}
		return healthUnhealthy, fmt.Sprintf("unhealthy: %s answered %d", url, status)
	}
	if status != http.StatusOK {
		reason := b.Error
		if reason == "" {
			reason = b.Status
		}
		return healthUnhealthy, fmt.Sprintf("unhealthy (%d): %s", status, termsafe.String(reason))
	}
	msg := termsafe.String(b.Status)
	for _, e := range []struct{ k, v string }{{"state_error", b.StateError}, {"audit_error", b.AuditError}} {
		if e.v != "" {
			msg += fmt.Sprintf("; %s: %s", e.k, termsafe.String(e.v))
		}
	}
	return healthOK, msg
}

// errorCause drops the *url.Error wrapper (`Get "http://...": `) that
// repeats the address; the cause says what went wrong.
func errorCause(err error) error {
	var ue *neturl.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}
