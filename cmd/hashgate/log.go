package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/hashgate/hashgate/internal/termsafe"
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
			w = consoleWriter(out, false)
		}
	case "console":
		w = consoleWriter(out, !isTerminal(out))
	case "json":
	default:
		return zerolog.Logger{}, fmt.Errorf("unknown log format %q (json, console, auto)", format)
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

// consoleWriter is zerolog's human format. Its field values are quoted
// when they hold a control character, but the message is printed as is:
// FormatPrepare escapes it (termsafe), so a message that names a worker
// or quotes a pool cannot write to the terminal. JSON escapes both.
func consoleWriter(out io.Writer, noColor bool) zerolog.ConsoleWriter {
	return zerolog.ConsoleWriter{Out: out, TimeFormat: time.TimeOnly, NoColor: noColor,
		FormatPrepare: func(evt map[string]any) error {
			if m, ok := evt[zerolog.MessageFieldName].(string); ok {
				evt[zerolog.MessageFieldName] = termsafe.String(m)
			}
			return nil
		}}
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
