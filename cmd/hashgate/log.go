package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"
)

// newLogger builds the process logger: JSON by default, human-readable on
// a terminal or with format "console".
func newLogger(format, level string, out *os.File) (zerolog.Logger, error) {
	lvl := zerolog.InfoLevel
	if level != "" {
		l, err := zerolog.ParseLevel(level)
		if err != nil || l == zerolog.NoLevel {
			return zerolog.Logger{}, fmt.Errorf("unknown log level %q (debug, info, warn, error)", level)
		}
		lvl = l
	}
	var w io.Writer = out
	switch format {
	case "", "auto":
		if isTerminal(out) {
			w = zerolog.ConsoleWriter{Out: out, TimeFormat: time.TimeOnly}
		}
	case "console":
		w = zerolog.ConsoleWriter{Out: out, TimeFormat: time.TimeOnly, NoColor: !isTerminal(out)}
	case "json":
	default:
		return zerolog.Logger{}, fmt.Errorf("unknown log format %q (json, console, auto)", format)
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
