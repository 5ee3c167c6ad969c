// Package criu runs CRIU for mycr: it exports how CRIU runs here (Prepare,
// built on host.Probe) and the configuration of each run (UseConfig,
// UseConfigFile) into the process environment that libcontainer's `criu swrk`
// inherits (procenv.go is the only writer), watches each run (Watch: a stall
// kills CRIU), explains its failures from its log (Explain), and owns what
// mycr adds to an image dir: its metadata (mycr-checkpoint.json, Meta), the
// host features a restore needs (Meta.Needs), permissions (PrepareImageDir,
// SecureImageDir) and the masked-dir externals.
//
// Subpackages: host probes the machine, image reads images, archive writes and
// reads portable archives.
package criu
