package evidence

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// maxLine bounds a line read back; longer lines (none is written) are
// skipped.
const maxLine = 1 << 20

// rotLog is an append-only file of lines with size-based rotation (FILE,
// FILE.1 … FILE.keep), as the audit log rotates. It is not safe for
// concurrent use: Log serializes it.
type rotLog struct {
	path    string
	maxSize int64 // a file rotates before it would grow past this
	keep    int
	f       *os.File
	size    int64
}

func openRotLog(path string, maxSize int64, keep int) (*rotLog, error) {
	l := &rotLog{path: path, maxSize: maxSize, keep: keep}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *rotLog) file(i int) string {
	if i == 0 {
		return l.path
	}
	return fmt.Sprintf("%s.%d", l.path, i)
}

// open opens the newest file for appending; a torn last line (a crash
// mid-write) is ended so that the next record is a line of its own.
func (l *rotLog) open() error {
	if err := os.MkdirAll(filepath.Dir(l.path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err == nil && st.Size() > 0 {
		last := make([]byte, 1)
		if _, err = f.ReadAt(last, st.Size()-1); err == nil && last[0] != '\n' {
			_, err = f.Write([]byte{'\n'})
		}
	}
	if err == nil {
		st, err = f.Stat()
	}
	if err != nil {
		f.Close()
		return err
	}
	l.f, l.size = f, st.Size()
	return nil
}

// write appends buf (whole lines), rotating first when it would make the
// file larger than maxSize. A failed write closes the file: the next
// write reopens it.
func (l *rotLog) write(buf []byte) error {
	if len(buf) == 0 {
		return nil
	}
	if l.f == nil {
		if err := l.open(); err != nil {
			return err
		}
	}
	if l.size > 0 && l.size+int64(len(buf)) > l.maxSize {
		if err := l.rotate(); err != nil {
			return err
		}
	}
	n, err := l.f.Write(buf)
	l.size += int64(n)
	if err != nil {
		l.f.Close()
		l.f = nil
	}
	return err
}

func (l *rotLog) sync() error {
	if l.f == nil {
		return nil
	}
	return l.f.Sync()
}

func (l *rotLog) rotate() error {
	err := l.f.Close()
	l.f = nil
	if err != nil {
		return err
	}
	_ = os.Remove(l.file(l.keep))
	for i := l.keep - 1; i >= 0; i-- {
		if err := os.Rename(l.file(i), l.file(i+1)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return l.open()
}

func (l *rotLog) close() error {
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// files are the log's files that exist, oldest first.
func (l *rotLog) files() []string {
	var out []string
	for i := l.keep; i >= 0; i-- {
		if _, err := os.Stat(l.file(i)); err == nil {
			out = append(out, l.file(i))
		}
	}
	return out
}

// scanLines calls fn with each whole line of r (without its newline); a
// line longer than maxLine is skipped, and so is a last line without a
// newline (a write cut short). fn returning false stops the scan.
func scanLines(r io.Reader, fn func(line []byte) bool) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var long []byte // a line longer than the reader's buffer, so far
	skip := false   // the line is longer than maxLine: skipped
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if !skip && len(long)+len(chunk) <= maxLine {
				long = append(long, chunk...)
			} else {
				skip, long = true, long[:0]
			}
			continue
		}
		if errors.Is(err, io.EOF) {
			return nil // a last line without its newline: cut short
		}
		if err != nil {
			return err
		}
		line := chunk[:len(chunk)-1]
		if skip {
			skip = false
			continue
		}
		if len(long) > 0 {
			whole := len(long)+len(line) <= maxLine
			line = append(long, line...)
			long = long[:0]
			if !whole {
				continue
			}
		}
		if !fn(line) {
			return nil
		}
	}
}

// scanFile scans one file's lines (a missing file has none).
func scanFile(path string, fn func(line []byte) bool) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	return scanLines(f, fn)
}
