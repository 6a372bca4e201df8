package bench

import (
	"bytes"
	"encoding/hex"
	"strconv"
)

// The notify stamp: the last 32 hex digits of coinb1 are the pool's round
// sequence and its send time in unix nanoseconds, 16 digits each. The proxy
// passes coinb1 through untouched (it mints its own job ids), so a miner
// behind it reads the same stamp as one connected to the pool directly.
const stampDigits = 32

// NotifyInfo is what a miner needs from a mining.notify line.
type NotifyInfo struct {
	JobID string
	NTime string
	Seq   uint64 // the pool's round
	Stamp int64  // the pool's send time, unix nanoseconds
	Clean bool
}

var (
	notifyMethod = []byte(`"method":"mining.notify"`)
	paramsKey    = []byte(`"params":[`)
)

// IsNotify reports whether line is a mining.notify.
func IsNotify(line []byte) bool { return bytes.Contains(line, notifyMethod) }

// cursor walks a JSON array of flat values without a full decoder: the
// harness parses every notify of every miner and must stay cheap.
type cursor struct {
	b []byte
	i int
}

// str reads the next JSON string (no escapes expected in Stratum hex and
// ids) and the separator after it.
func (c *cursor) str() ([]byte, bool) {
	for c.i < len(c.b) && (c.b[c.i] == ',' || c.b[c.i] == ' ') {
		c.i++
	}
	if c.i >= len(c.b) || c.b[c.i] != '"' {
		return nil, false
	}
	c.i++
	j := bytes.IndexByte(c.b[c.i:], '"')
	if j < 0 {
		return nil, false
	}
	s := c.b[c.i : c.i+j]
	if bytes.IndexByte(s, '\\') >= 0 {
		return nil, false
	}
	c.i += j + 1
	return s, true
}

// skipArray skips a nested array of strings.
func (c *cursor) skipArray() bool {
	for c.i < len(c.b) && (c.b[c.i] == ',' || c.b[c.i] == ' ') {
		c.i++
	}
	if c.i >= len(c.b) || c.b[c.i] != '[' {
		return false
	}
	j := bytes.IndexByte(c.b[c.i:], ']')
	if j < 0 {
		return false
	}
	c.i += j + 1
	return true
}

func (c *cursor) boolean() (bool, bool) {
	for c.i < len(c.b) && (c.b[c.i] == ',' || c.b[c.i] == ' ') {
		c.i++
	}
	rest := c.b[c.i:]
	switch {
	case bytes.HasPrefix(rest, []byte("true")):
		c.i += 4
		return true, true
	case bytes.HasPrefix(rest, []byte("false")):
		c.i += 5
		return false, true
	}
	return false, false
}

// ParseNotify reads a mining.notify line the way the harness needs it.
// ok is false for a line that is not a stamped notify.
func ParseNotify(line []byte) (n NotifyInfo, ok bool) {
	p := bytes.Index(line, paramsKey)
	if p < 0 {
		return n, false
	}
	c := cursor{b: line, i: p + len(paramsKey)}
	job, ok1 := c.str()
	_, ok2 := c.str() // prevhash
	coinb1, ok3 := c.str()
	_, ok4 := c.str() // coinb2
	if !ok1 || !ok2 || !ok3 || !ok4 || !c.skipArray() {
		return n, false
	}
	_, ok5 := c.str() // version
	_, ok6 := c.str() // nbits
	ntime, ok7 := c.str()
	clean, ok8 := c.boolean()
	if !ok5 || !ok6 || !ok7 || !ok8 || len(coinb1) < stampDigits {
		return n, false
	}
	st := coinb1[len(coinb1)-stampDigits:]
	seq, err1 := strconv.ParseUint(string(st[:16]), 16, 64)
	ns, err2 := strconv.ParseUint(string(st[16:]), 16, 64)
	if err1 != nil || err2 != nil {
		return n, false
	}
	return NotifyInfo{JobID: string(job), NTime: string(ntime), Seq: seq, Stamp: int64(ns), Clean: clean}, true
}

// appendHex32 appends v as 8 hex digits.
func appendHex32(dst []byte, v uint32) []byte {
	var b [4]byte
	b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	return hex.AppendEncode(dst, b[:])
}

// AppendSubmit appends a mining.submit line (no version bits).
func AppendSubmit(dst []byte, id uint64, worker, jobID string, en2 uint64, en2Size int, ntime string, nonce uint32) []byte {
	dst = append(dst, `{"id":`...)
	dst = strconv.AppendUint(dst, id, 10)
	dst = append(dst, `,"method":"mining.submit","params":["`...)
	dst = append(dst, worker...)
	dst = append(dst, `","`...)
	dst = append(dst, jobID...)
	dst = append(dst, `","`...)
	// en2Size bytes, big-endian, of the counter.
	var b [16]byte
	n := min(en2Size, len(b))
	v := en2
	for i := n - 1; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
	dst = hex.AppendEncode(dst, b[:n])
	dst = append(dst, `","`...)
	dst = append(dst, ntime...)
	dst = append(dst, `","`...)
	dst = appendHex32(dst, nonce)
	dst = append(dst, `"]}`+"\n"...)
	return dst
}

// responseID returns the integer id of a response line and the rest of the
// line after it, or ok false when line is not {"id":N,...}.
func responseID(line []byte) (id uint64, rest []byte, ok bool) {
	const pre = `{"id":`
	if !bytes.HasPrefix(line, []byte(pre)) {
		return 0, nil, false
	}
	i := len(pre)
	j := i
	for j < len(line) && line[j] >= '0' && line[j] <= '9' {
		j++
	}
	if j == i {
		return 0, nil, false
	}
	v, err := strconv.ParseUint(string(line[i:j]), 10, 64)
	if err != nil {
		return 0, nil, false
	}
	return v, line[j:], true
}

// submitFields finds the params of a mining.submit request line: worker,
// job, extranonce2, ntime, nonce and optional version, as sent.
func submitFields(line []byte) (fields [6][]byte, n int, ok bool) {
	p := bytes.Index(line, paramsKey)
	if p < 0 {
		return fields, 0, false
	}
	c := cursor{b: line, i: p + len(paramsKey)}
	for n < 6 {
		s, ok := c.str()
		if !ok {
			break
		}
		fields[n] = s
		n++
	}
	return fields, n, n >= 5
}
