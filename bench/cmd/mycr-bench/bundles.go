package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Bundles share one rootfs per kind; every container gets its own ID (and so its
// own cgroup), and none writes into the rootfs except the memory workload's ready
// marks (one file per container).

var busyboxApplets = []string{"sh", "sleep", "true", "cat", "dd", "ip", "nc", "wget", "ls"}

// makeRootfs copies the static busybox into dir/rootfs/bin.
func makeRootfs(dir string) (string, error) {
	rootfs := filepath.Join(dir, "rootfs")
	if err := os.MkdirAll(filepath.Join(rootfs, "bin"), 0o755); err != nil {
		return "", err
	}
	for _, d := range []string{"proc", "dev", "sys", "tmp"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			return "", err
		}
	}
	if err := copyFile("/bin/busybox", filepath.Join(rootfs, "bin/busybox"), 0o755); err != nil {
		return "", fmt.Errorf("busybox (apt-get install busybox-static): %w", err)
	}
	for _, a := range busyboxApplets {
		_ = os.Symlink("busybox", filepath.Join(rootfs, "bin", a))
	}
	return rootfs, nil
}

func copyFile(src, dst string, mode os.FileMode) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, mode)
}

// spec is runc's default config.json, edited by fn.
func writeSpec(runcBin, bundle string, fn func(map[string]any)) error {
	_ = os.Remove(filepath.Join(bundle, "config.json"))
	if _, err := sh(runcBin, "spec", "--bundle", bundle); err != nil {
		return err
	}
	path := filepath.Join(bundle, "config.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		return err
	}
	c["root"].(map[string]any)["readonly"] = false
	c["ociVersion"] = "1.0.2" // crun 1.8 refuses runc 1.4's "1.3.0"
	p := c["process"].(map[string]any)
	p["terminal"] = false
	fn(c)
	out, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o644)
}

func setArgs(args ...string) func(map[string]any) {
	return func(c map[string]any) {
		a := make([]any, len(args))
		for i, s := range args {
			a[i] = s
		}
		c["process"].(map[string]any)["args"] = a
	}
}

// bundleWithRootfs makes dir/<name> whose rootfs is a symlink-free copy of the
// shared one's path: bundles may point at a shared rootfs by absolute path.
func bundleAt(runcBin, dir, rootfs string, fn func(map[string]any)) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	err := writeSpec(runcBin, dir, func(c map[string]any) {
		c["root"].(map[string]any)["path"] = rootfs
		fn(c)
	})
	return dir, err
}

func bindMount(src, dst string) map[string]any {
	return map[string]any{"destination": dst, "type": "bind", "source": src,
		"options": []any{"rbind", "ro", "nosuid", "nodev"}}
}

// makeBundles builds the rootfs trees and bundles every section uses.
func (b *Bench) makeBundles() error {
	var err error
	if b.rootfs, err = makeRootfs(filepath.Join(b.Work, "rootfs-busybox")); err != nil {
		return err
	}
	runc := b.runc.Bin
	if b.bSleep, err = bundleAt(runc, filepath.Join(b.Work, "b-sleep"), b.rootfs, setArgs("sleep", "1000000")); err != nil {
		return err
	}
	if b.bTrue, err = bundleAt(runc, filepath.Join(b.Work, "b-true"), b.rootfs, setArgs("true")); err != nil {
		return err
	}
	if b.bBusy, err = bundleAt(runc, filepath.Join(b.Work, "b-busy"), b.rootfs, setArgs("sh", "-c", "while :; do :; done")); err != nil {
		return err
	}
	// The idle container again, with a CRIU configuration file (libcontainer passes the
	// file named by the org.criu.config annotation to CRIU) that skips the network lock.
	conf := filepath.Join(b.Work, "criu-netlock-skip.conf")
	if err := os.WriteFile(conf, []byte("network-lock skip\n"), 0o644); err != nil {
		return err
	}
	if b.bCRIUConf, err = bundleAt(runc, filepath.Join(b.Work, "b-sleep-netlock-skip"), b.rootfs, func(c map[string]any) {
		setArgs("sleep", "1000000")(c)
		c["annotations"] = map[string]any{"org.criu.config": conf}
	}); err != nil {
		return err
	}
	// memory workload
	if b.memRootfs, err = makeRootfs(filepath.Join(b.Work, "rootfs-mem")); err != nil {
		return err
	}
	src := filepath.Join(b.repo, "bench/workloads/memhog.c")
	if out, err := sh("gcc", "-O2", "-static", "-o", filepath.Join(b.memRootfs, "bin/memhog"), src); err != nil {
		return fmt.Errorf("build memhog (apt-get install gcc libc6-dev): %v: %s", err, out)
	}
	// JVM workload: the host's /usr (the JDK), /etc/alternatives and the JDK's /etc
	// config, read-only; the compiled service in /app.
	if b.jvmRootfs, err = b.makeJVMRootfs(); err != nil {
		b.res.Skipped["jvm"] = err.Error()
		logf("jvm workload unavailable: %v", err)
	}
	return nil
}

func (b *Bench) makeJVMRootfs() (string, error) {
	// Debian's OpenJDK 17 (scripts/install-bench-deps.sh), whatever `java` in PATH is.
	jdk, _ := filepath.Glob("/usr/lib/jvm/java-17-openjdk-*/bin/javac")
	if len(jdk) == 0 {
		return "", fmt.Errorf("no OpenJDK 17 in /usr/lib/jvm (apt-get install openjdk-17-jdk-headless)")
	}
	java, javac := filepath.Join(filepath.Dir(jdk[0]), "java"), jdk[0]
	if !strings.HasPrefix(java, "/usr/") {
		return "", fmt.Errorf("java at %s is outside /usr", java)
	}
	rootfs := filepath.Join(b.Work, "rootfs-jvm", "rootfs")
	for _, d := range []string{"app", "usr", "etc/alternatives", "proc", "dev", "sys", "tmp"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			return "", err
		}
	}
	src := filepath.Join(b.repo, "bench/workloads/IndexServer.java")
	if out, err := sh(javac, "--release", "17", "-d", filepath.Join(rootfs, "app"), src); err != nil {
		return "", fmt.Errorf("javac: %v: %s", err, out)
	}
	b.jvmJava = java
	var mounts []any
	for _, d := range []string{"bin", "lib", "lib64", "sbin"} {
		host := "/" + d
		if t, err := os.Readlink(host); err == nil { // merged /usr: same symlink in the rootfs
			_ = os.Symlink(t, filepath.Join(rootfs, d))
		} else if _, err := os.Stat(host); err == nil {
			os.MkdirAll(filepath.Join(rootfs, d), 0o755)
			mounts = append(mounts, bindMount(host, host))
		}
	}
	mounts = append(mounts, bindMount("/usr", "/usr"), bindMount("/etc/alternatives", "/etc/alternatives"))
	jdkEtc, _ := filepath.Glob("/etc/java-*")
	for _, d := range jdkEtc {
		os.MkdirAll(filepath.Join(rootfs, d), 0o755)
		mounts = append(mounts, bindMount(d, d))
	}
	if _, err := os.Stat("/etc/ssl/certs"); err == nil {
		os.MkdirAll(filepath.Join(rootfs, "etc/ssl/certs"), 0o755)
		mounts = append(mounts, bindMount("/etc/ssl/certs", "/etc/ssl/certs"))
	}
	b.jvmMounts = mounts
	return rootfs, nil
}
