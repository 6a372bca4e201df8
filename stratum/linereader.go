package stratum

import (
	"bytes"
	"errors"
	"io"
)

// ErrLineTooLong is returned by LineReader when a line exceeds its limit.
// The peer is not speaking Stratum (or is hostile); callers drop it.
var ErrLineTooLong = errors.New("stratum: line exceeds maximum length")

// minLineBuffer is the buffer a LineReader starts with and shrinks back to.
// Stratum lines from miners are short (a submit is ~150 bytes), and an idle
// miner must cost little memory, so the buffer starts small and only grows
// for the occasional long line (a pool's notify with many branches).
const minLineBuffer = 256

// LineReader splits a byte stream into lines. It tolerates "\r\n", skips
// empty lines, and refuses lines longer than its limit without buffering
// them whole. The slice it returns is valid until the next call.
type LineReader struct {
	r          io.Reader
	buf        []byte
	start, end int
	max        int
	min        int // the buffer it starts with and shrinks back to
	// scanned is how far past start the buffer is known to hold no '\n'.
	scanned int
}

// DefaultMaxLineBytes is the longest line a LineReader made with max <= 0
// returns; the proxy's default for lines from miners too.
const DefaultMaxLineBytes = 16 << 10

// NewLineReader reads lines of at most max bytes (excluding the newline).
func NewLineReader(r io.Reader, max int) *LineReader {
	return NewLineReaderSize(r, max, minLineBuffer)
}

// NewLineReaderSize is NewLineReader with a buffer of size bytes: a busy
// connection (a pool session carrying thousands of answers a second) reads
// many lines per read instead of a few.
func NewLineReaderSize(r io.Reader, max, size int) *LineReader {
	if max <= 0 {
		max = DefaultMaxLineBytes
	}
	if size <= 0 {
		size = minLineBuffer
	}
	return &LineReader{r: r, max: max, min: size}
}

// Buffered reports how many bytes are held but not yet returned.
func (lr *LineReader) Buffered() int { return lr.end - lr.start }

// HasLine reports whether a whole non-empty line is buffered: ReadLine
// would return it (or an error for it) without reading. Empty lines ahead
// of it are dropped here, as ReadLine would skip them: a buffered "\n"
// alone must not pass for a line, since ReadLine would then block (a
// caller that arms a read deadline only when HasLine is false would read
// without one).
func (lr *LineReader) HasLine() bool {
	for {
		i := bytes.IndexByte(lr.buf[lr.start+lr.scanned:lr.end], '\n')
		if i < 0 {
			return false
		}
		lineEnd := lr.start + lr.scanned + i
		if n := lineEnd - lr.start; n > 1 || (n == 1 && lr.buf[lr.start] != '\r') {
			return true
		}
		lr.start, lr.scanned = lineEnd+1, 0 // "\n" or "\r\n"
	}
}

// ReadLine returns the next non-empty line without its terminator.
func (lr *LineReader) ReadLine() ([]byte, error) {
	for {
		if i := bytes.IndexByte(lr.buf[lr.start+lr.scanned:lr.end], '\n'); i >= 0 {
			lineEnd := lr.start + lr.scanned + i
			line := lr.buf[lr.start:lineEnd]
			lr.start = lineEnd + 1
			lr.scanned = 0
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			if len(line) > lr.max {
				return nil, ErrLineTooLong
			}
			if len(line) == 0 {
				continue
			}
			return line, nil
		}
		lr.scanned = lr.end - lr.start
		// One byte of slack for a '\r' before the '\n'.
		if lr.scanned > lr.max+1 {
			return nil, ErrLineTooLong
		}
		if err := lr.fill(); err != nil {
			if err == io.EOF && lr.end > lr.start {
				// A peer that closes mid-line sent an incomplete message.
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

// fill makes room and reads once.
func (lr *LineReader) fill() error {
	if lr.start == lr.end {
		lr.start, lr.end, lr.scanned = 0, 0, 0
		// Give back a buffer grown by one long line.
		if cap(lr.buf) > 4*lr.min {
			lr.buf = nil
		}
	}
	if lr.buf == nil {
		lr.buf = make([]byte, lr.min)
	}
	if lr.start > 0 && lr.end == len(lr.buf) {
		copy(lr.buf, lr.buf[lr.start:lr.end])
		lr.end -= lr.start
		lr.start = 0
	}
	if lr.end == len(lr.buf) {
		n := 2 * len(lr.buf)
		if limit := lr.max + 2; n > limit {
			n = limit
		}
		if n <= len(lr.buf) {
			return ErrLineTooLong
		}
		nb := make([]byte, n)
		copy(nb, lr.buf[lr.start:lr.end])
		lr.end -= lr.start
		lr.start = 0
		lr.buf = nb
	}
	// A reader may return 0, nil now and then; bufio gives up after 100.
	for range 100 {
		n, err := lr.r.Read(lr.buf[lr.end:])
		lr.end += n
		if n > 0 {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}
