package main

import (
	"fmt"
	"os"
	"time"
)

// Bench is one benchmark run: its settings (flags), the runtimes it compares and the
// shared bundles and directories its sections use.
type Bench struct {
	Out          string
	Work         string
	Runs         int
	LifeRuns     int
	MemRuns      int
	BigRuns      int
	MemSizes     []int
	JVMRuns      int
	MemRuncMax   int
	MigSizes     []int
	MigRuns      int
	LinkSizes    []int
	LinkRuns     int
	LinkRate     string // tc rate of the two hosts' link
	ArcSizes     []int
	LazySizes    []int
	LazyJVMSizes []int
	LazyRuns     int
	ArcFill      int
	Fault        string

	res     *Results
	mycr    *rt
	runc    *rt
	crun    *rt
	target  *rt // mycr's second state root: the migration target
	criu    *bareCriu
	peers   []*rt // lifecycle runtimes
	tr      *tracer
	baseEnv []string
	repo    string
	// shared rootfs and bundles
	rootfs               string
	bSleep, bTrue, bBusy string
	bCRIUConf            string
	memRootfs, jvmRootfs string
	jvmJava              string
	jvmMounts            []any
	tmpfsDir, diskDir    string
	tmpfsMounted         bool
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, a...)...)
}
