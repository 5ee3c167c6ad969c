package main

import (
	"bytes"
	"testing"

	"github.com/mycr/mycr/criu/host"
)

func TestPrintReport(t *testing.T) {
	r := &host.Report{Facts: []host.Fact{{Name: "criu", Status: "FAIL", Value: "not found", Fix: "run `make deps`"},
		{Name: "kernel", Status: "OK", Value: "6.1"}}}
	var b bytes.Buffer
	printReport(&b, r)
	want := "FAIL  criu:           not found\n" +
		"                      -> run `make deps`\n" +
		"OK    kernel:         6.1\n"
	if b.String() != want {
		t.Fatalf("got\n%q\nwant\n%q", b.String(), want)
	}
}
