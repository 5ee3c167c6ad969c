package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/sirupsen/logrus"
)

// exitError carries a process exit status out of a command without printing anything.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// fatal reports err like runc: into the log (JSON for daemons) and on stderr, exit 1.
func fatal(err error) {
	fatalCode(err, 1)
}

// codedError is an error that makes mycr exit with code rather than 1 (runc's exec
// exits 255 on its own errors, to tell them from the process's exit status).
type codedError struct {
	error
	code int
}

func (e codedError) Unwrap() error { return e.error }

// fatalCode is fatal with the exit status code.
func fatalCode(err error, code int) {
	var ee exitError
	if errors.As(err, &ee) {
		os.Exit(ee.code)
	}
	var ce codedError
	if errors.As(err, &ce) {
		code = ce.code
	}
	logrus.Error(err)
	if f, ok := logrus.StandardLogger().Out.(*os.File); !ok || f.Fd() != os.Stderr.Fd() {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}
