package main

import (
	"strings"
	"sync"

	"github.com/sirupsen/logrus"
)

// criuQuoteToDebug moves libcontainer's quote of a failed CRIU run's log
// ("--- Quoting <log>", numbered lines, "---", all warnings) to debug level:
// mycr's own error quotes the log's first real Error lines with a hint, and
// dozens of warnings before it hid it. --debug still shows the quote.
type criuQuoteToDebug struct {
	logrus.Formatter
	mu      sync.Mutex
	quoting bool
}

func (f *criuQuoteToDebug) Format(e *logrus.Entry) ([]byte, error) {
	if e.Level == logrus.WarnLevel && f.inQuote(e.Message) {
		if e.Logger != nil && !e.Logger.IsLevelEnabled(logrus.DebugLevel) {
			return nil, nil
		}
		e.Level = logrus.DebugLevel
	}
	return f.Formatter.Format(e)
}

// inQuote tells whether a warning is part of a quote, following its start and end.
func (f *criuQuoteToDebug) inQuote(msg string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case strings.HasPrefix(msg, "--- Quoting "):
		f.quoting = true
	case !f.quoting:
		return false
	case msg == "---":
		f.quoting = false
	}
	return true
}
