// Package host probes this machine for what CRIU needs: the criu binary and
// its version, whether hardware breakpoints trap (else CRIU runs with
// CRIU_FAULT), CRIU's kdat cache dir, the network lock and the cgroup yard,
// host features a checkpoint may need (userfaultfd, TCP repair), and the
// `mycr check` report. Its answer is an Env; it writes its caches in the
// state dir but never the process environment (package criu does that).
package host
