package luxos

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/hashgate/hashgate/switcher/device"
)

// request is one LuxOS API command: cgminer-style JSON, one a connection.
type request struct {
	Command   string `json:"command"`
	Parameter string `json:"parameter,omitempty"`
}

// roundtrip sends one request on a new connection and returns the answer,
// without its NUL terminator. Every read and write has the deadline of ctx.
func (d *Driver) roundtrip(ctx context.Context, addr string, req request) ([]byte, error) {
	body, _ := json.Marshal(req)
	ans, err := device.Exchange(ctx, d.cfg.Dial, addr, body, func(r io.Reader) ([]byte, error) {
		return device.ReadToNUL(r, d.maxAnswer)
	})
	if err != nil {
		return nil, fmt.Errorf("luxos: %s: %w", req.Command, err)
	}
	return ans, nil
}
