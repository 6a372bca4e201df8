package whatsminer

import (
	"context"
	"fmt"
	"io"

	"github.com/hashgate/hashgate/switcher/device"
)

// roundtrip sends one request on a new connection and returns the answer,
// without its NUL terminator. Every read and write has the deadline of ctx.
func (d *Driver) roundtrip(ctx context.Context, addr, name string, body []byte) ([]byte, error) {
	return d.exchange(ctx, addr, name, body, func(r io.Reader) ([]byte, error) {
		return device.ReadToNUL(r, d.maxAnswer)
	})
}

// exchange dials, writes body and reads the reply with read.
func (d *Driver) exchange(ctx context.Context, addr, name string, body []byte, read func(io.Reader) ([]byte, error)) ([]byte, error) {
	ans, err := device.Exchange(ctx, d.cfg.Dial, addr, body, read)
	if err != nil {
		return nil, fmt.Errorf("whatsminer: %s: %w", name, err)
	}
	return ans, nil
}
