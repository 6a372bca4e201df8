package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"runtime"
	"runtime/debug"

	"github.com/hashgate/hashgate/api"
)

// clientVersion is hashgatectl's version: main.version, the VCS commit
// Go recorded (a -dirty suffix for uncommitted changes) and Go's version.
func clientVersion() (ver, revision, goVersion string) {
	revision, dirty := "unknown", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if dirty {
		revision += "-dirty"
	}
	return version, revision, runtime.Version()
}

// version is `hashgatectl version [--client]`.
func (c *cli) version(fs *flag.FlagSet) func(context.Context, []string) error {
	clientOnly := fs.Bool("client", false, "only hashgatectl's version: no request")
	return func(ctx context.Context, pos []string) error {
		if err := noArgs("version", pos); err != nil {
			return err
		}
		ver, rev, gov := clientVersion()
		out := struct {
			Client    string `json:"client"`
			Revision  string `json:"revision"`
			GoVersion string `json:"goversion"`
			Server    string `json:"server,omitempty"`
			API       string `json:"api,omitempty"`
		}{Client: ver, Revision: rev, GoVersion: gov}
		var err error
		if !*clientOnly {
			var st api.Status
			_, data, cerr := c.call(ctx, http.MethodGet, "/api/v1/status", nil, "an API token")
			if err = cerr; err == nil {
				err = decode(data, &st)
			}
			if err == nil {
				out.Server, out.API = st.Version, c.api
				if out.Server == "" {
					out.Server = "unknown (a hashgate older than its version in the status)"
				}
			}
		}
		if c.json {
			b, _ := json.Marshal(out)
			if perr := c.printJSON(b); perr != nil {
				return perr
			}
			return err
		}
		fmt.Fprintf(c.out, "hashgatectl %s (%s, %s)\n", safe(ver), safe(rev), gov)
		if out.Server != "" {
			fmt.Fprintf(c.out, "server      hashgate %s at %s\n", safe(out.Server), safe(out.API))
		}
		return err
	}
}
