package sim

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"time"
)

// AuthorizeOnce connects to the Stratum server at addr, subscribes and
// authorizes as name, and returns the authorize's answer line; then it
// hangs up (a probe's churn of names, or a name to see refused). Each
// step is bounded by timeout.
func AuthorizeOnce(addr, name string, timeout time.Duration) (string, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	req, err := json.Marshal(map[string]any{"id": 2, "method": "mining.authorize", "params": []string{name, "x"}})
	if err != nil {
		return "", err
	}
	if _, err := fmt.Fprintf(c, "{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[]}\n%s\n", req); err != nil {
		return "", err
	}
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return "", fmt.Errorf("authorize %.40q: %w", name, err)
		}
		if strings.HasPrefix(line, `{"id":2,`) {
			return line, nil
		}
	}
}
