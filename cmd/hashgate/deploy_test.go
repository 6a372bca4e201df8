package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashgate/hashgate/config"
	"github.com/hashgate/hashgate/internal/sim"
)

// There is no container engine here, so the image is tested from its
// recipe: the Dockerfile's final stage is read, its files laid out in a
// directory as the image would hold them, and its ENTRYPOINT + CMD run
// there (chroot, as the image's USER) with nothing else: no shell, no
// /proc, no /etc/resolv.conf, as in a scratch image. Its HEALTHCHECK
// command is run the same way.

// imageRecipe is what the test takes from the Dockerfile's last stage.
type imageRecipe struct {
	copies      []imageCopy
	uid, gid    int
	workdir     string
	volumes     []string
	entrypoint  []string
	cmd         []string
	healthcheck []string
}

type imageCopy struct {
	from     string // "" for the build context
	chown    string
	sources  []string
	dest     string
	lineText string
}

// dockerLines joins continuation lines and drops comments and blanks.
func dockerLines(text string) []string {
	var out []string
	var cur strings.Builder
	for _, l := range strings.Split(text, "\n") {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if strings.HasSuffix(t, "\\") {
			cur.WriteString(strings.TrimSuffix(t, "\\") + " ")
			continue
		}
		cur.WriteString(t)
		out = append(out, cur.String())
		cur.Reset()
	}
	return out
}

// execForm reads a JSON array argument (exec form); the shell form is
// refused: a scratch image has no shell to run it.
func execForm(t *testing.T, line, arg string) []string {
	t.Helper()
	var v []string
	if err := json.Unmarshal([]byte(arg), &v); err != nil || len(v) == 0 {
		t.Fatalf("Dockerfile: %q: want the exec form [\"...\"] (a scratch image has no shell), got %q", line, arg)
	}
	return v
}

func parseDockerfile(t *testing.T, file string) imageRecipe {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := dockerLines(string(data))
	last := -1
	for i, l := range lines {
		if strings.HasPrefix(strings.ToUpper(l), "FROM ") {
			last = i
		}
	}
	if last < 0 {
		t.Fatalf("Dockerfile: got no FROM in %d lines, want a final stage FROM scratch", len(lines))
	}
	if !strings.EqualFold(strings.Fields(lines[last])[1], "scratch") {
		t.Fatalf("Dockerfile: final stage %q, want FROM scratch", lines[last])
	}
	var r imageRecipe
	for _, l := range lines[last+1:] {
		instr, rest, _ := strings.Cut(l, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(instr) {
		case "COPY":
			r.copies = append(r.copies, parseCopy(t, l, rest))
		case "USER":
			u, g, _ := strings.Cut(rest, ":")
			var err1, err2 error
			r.uid, err1 = strconv.Atoi(u)
			r.gid, err2 = strconv.Atoi(g)
			if err1 != nil || err2 != nil {
				t.Fatalf("Dockerfile: %q: want USER uid:gid, numeric", l)
			}
		case "WORKDIR":
			r.workdir = rest
		case "VOLUME":
			r.volumes = execForm(t, l, rest)
		case "ENTRYPOINT":
			r.entrypoint = execForm(t, l, rest)
		case "CMD":
			r.cmd = execForm(t, l, rest)
		case "HEALTHCHECK":
			_, arr, ok := strings.Cut(rest, "CMD ")
			if !ok {
				t.Fatalf("Dockerfile: %q: no CMD", l)
			}
			r.healthcheck = execForm(t, l, strings.TrimSpace(arr))
		case "EXPOSE", "LABEL", "ARG", "ENV", "STOPSIGNAL":
		default:
			t.Fatalf("Dockerfile: %q in the final stage: the layout test does not know %s; teach it", l, instr)
		}
	}
	if r.uid == 0 || r.workdir == "" || len(r.entrypoint) == 0 || len(r.healthcheck) == 0 {
		t.Fatalf("Dockerfile: want a non-root USER, WORKDIR, ENTRYPOINT and HEALTHCHECK in the final stage, got %+v", r)
	}
	return r
}

func parseCopy(t *testing.T, line, rest string) imageCopy {
	c := imageCopy{lineText: line}
	f := strings.Fields(rest)
	for len(f) > 0 && strings.HasPrefix(f[0], "--") {
		k, v, _ := strings.Cut(strings.TrimPrefix(f[0], "--"), "=")
		switch k {
		case "from":
			c.from = v
		case "chown":
			c.chown = v
		default:
			t.Fatalf("Dockerfile: %q: the layout test does not know --%s", line, k)
		}
		f = f[1:]
	}
	if len(f) < 2 {
		t.Fatalf("Dockerfile: %q: want sources and a destination", line)
	}
	c.sources, c.dest = f[:len(f)-1], f[len(f)-1]
	return c
}

// copyTree copies a file, or a directory's contents, keeping modes.
func copyTree(src, dst string) error {
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, st.Mode().Perm())
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := copyTree(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// layImage lays the recipe's files out under root. buildOutputs maps the
// paths the build stage makes to files here ("" for an empty directory).
func layImage(t *testing.T, r imageRecipe, context, root string, buildOutputs map[string]string) {
	t.Helper()
	for _, c := range r.copies {
		for _, src := range c.sources {
			var from string
			switch c.from {
			case "":
				from = filepath.Join(context, filepath.FromSlash(src))
			case "build":
				out, ok := buildOutputs[src]
				if !ok {
					t.Fatalf("Dockerfile: %q copies %s from the build stage; the layout test knows only %v", c.lineText, src, buildOutputs)
				}
				if out == "" {
					from = t.TempDir()
				} else {
					from = out
				}
			default:
				t.Fatalf("Dockerfile: %q: unknown stage %q", c.lineText, c.from)
			}
			dest := c.dest
			if strings.HasSuffix(dest, "/") || len(c.sources) > 1 {
				dest = path.Join(dest, path.Base(src))
			}
			to := filepath.Join(root, filepath.FromSlash(dest))
			if err := copyTree(from, to); err != nil {
				t.Fatalf("Dockerfile: %q: %v", c.lineText, err)
			}
			if c.chown != "" {
				chownTree(t, to, c.chown)
			}
		}
	}
}

func chownTree(t *testing.T, dir, owner string) {
	t.Helper()
	u, g, _ := strings.Cut(owner, ":")
	uid, err1 := strconv.Atoi(u)
	gid, err2 := strconv.Atoi(g)
	if err1 != nil || err2 != nil {
		t.Fatalf("Dockerfile: --chown=%s: want numeric uid:gid", owner)
	}
	err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// inImage runs argv in root as the image's user, with the image's
// environment (PATH only) and working directory.
func inImage(r imageRecipe, root string, argv []string) *exec.Cmd {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = r.workdir
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Chroot:     root,
		Credential: &syscall.Credential{Uid: uint32(r.uid), Gid: uint32(r.gid), Groups: []uint32{}},
	}
	return cmd
}

// replaceOnce replaces old in s, which must hold it exactly once.
func replaceOnce(t *testing.T, s, old, new string) string {
	t.Helper()
	if n := strings.Count(s, old); n != 1 {
		t.Fatalf("the image's config holds %q %d times, want once: the layout test edits it (ports, pool) to run here", old, n)
	}
	return strings.Replace(s, old, new, 1)
}

// buildStatic builds the daemon without cgo, as the Dockerfile does: the
// layout has no C library to link against.
func buildStatic(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "hashgate")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// checkImageConfig judges the config the image starts with: API on every
// interface, state and audit log in a VOLUME the image's user owns.
func checkImageConfig(t *testing.T, r imageRecipe, root string) {
	t.Helper()
	cfgPath := r.cmd[len(r.cmd)-1]
	cfg, err := config.Load(filepath.Join(root, cfgPath))
	if err != nil {
		t.Fatalf("the image's config %s: %v", cfgPath, err)
	}
	if host, _, _ := net.SplitHostPort(cfg.API.Listen); net.ParseIP(host) == nil || !net.ParseIP(host).IsUnspecified() {
		t.Errorf("image config api.listen = %q, want every interface (0.0.0.0 or [::]): 127.0.0.1 is unreachable from outside a container", cfg.API.Listen)
	}
	if _, err := os.Stat(cfg.Switcher.PolicyPath); err != nil {
		t.Errorf("the image's config names policy %s, not in the image: %v", cfg.Switcher.PolicyPath, err)
	}
	for _, p := range []string{cfg.Switcher.StateFilePath, cfg.Switcher.AuditLogPath, cfg.Switcher.LastGoodPolicyPath()} {
		dir := filepath.Dir(p)
		isVolume := false
		for _, v := range r.volumes {
			isVolume = isVolume || dir == v
		}
		if !isVolume {
			t.Errorf("image config writes %s, outside every VOLUME %v", p, r.volumes)
			continue
		}
		var st syscall.Stat_t
		if err := syscall.Stat(filepath.Join(root, dir), &st); err != nil || int(st.Uid) != r.uid {
			t.Errorf("%s in the image: owner %d (%v), want the image's user %d", dir, st.Uid, err, r.uid)
		}
	}
}

// The image's layout starts as its unprivileged user, answers its
// HEALTHCHECK, writes its audit log and state in the volume, stops on
// SIGTERM; the compose config checks OK in the same layout.
func TestImageLayoutStarts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the daemon")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: it runs the image's layout with chroot as uid 65532 (run the tests as root, as CI does)")
	}
	dir := t.TempDir()
	bin := buildStatic(t, dir)
	r := parseDockerfile(t, "../../Dockerfile")
	root := filepath.Join(dir, "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	layImage(t, r, "../..", root, map[string]string{"/out/hashgate": bin, "/out/var/lib/hashgate": ""})
	checkImageConfig(t, r, root)

	// Here, on a shared host: ephemeral loopback ports, a local pool in
	// place of the example's, and loopback miners allowed.
	pool, err := sim.StartPool(sim.PoolConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	minerAddr, apiAddr := freePort(t), freePort(t)
	cfgFile := filepath.Join(root, r.cmd[len(r.cmd)-1])
	data, err := os.ReadFile(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	conf := replaceOnce(t, string(data), `listen = "0.0.0.0:3333"`, fmt.Sprintf("listen = %q", minerAddr))
	conf = replaceOnce(t, conf, `listen = "0.0.0.0:8080"`, fmt.Sprintf("listen = %q", apiAddr))
	conf = replaceOnce(t, conf, `url = "stratum+tcp://pool.example.com:3333"`, fmt.Sprintf("url = %q", pool.URL()))
	conf = replaceOnce(t, conf, `allow = [`, `allow = ["127.0.0.0/8", `)
	if err := os.WriteFile(cfgFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}

	out := &sim.LogBuffer{}
	d := inImage(r, root, append(append([]string{}, r.entrypoint...), r.cmd...))
	d.Stdout, d.Stderr = out, out
	started := time.Now()
	if err := d.Start(); err != nil {
		t.Fatalf("start %v in the layout: %v", r.entrypoint, err)
	}
	done := make(chan struct{})
	var waitErr error
	go func() { waitErr = d.Wait(); close(done) }()
	defer func() {
		select {
		case <-done:
		default:
			_ = d.Process.Kill()
			<-done
		}
	}()
	running := func() bool {
		select {
		case <-done:
			t.Fatalf("the daemon exited (%v); output:\n%s", waitErr, out)
		default:
		}
		return true
	}

	healthcheck := func() (bool, string) {
		hc := inImage(r, root, r.healthcheck)
		b, err := hc.CombinedOutput()
		return err == nil, string(b)
	}
	var last string
	if err := sim.Poll(20*time.Second, func() bool {
		ok, o := healthcheck()
		last = o
		return running() && ok
	}); err != nil {
		t.Fatalf("HEALTHCHECK %v never passed: last said %q; daemon output:\n%s", r.healthcheck, last, out)
	}
	t.Logf("healthy %v after the start", time.Since(started).Round(time.Millisecond))

	// A rig connects and is admitted: its record is what the state keeps.
	fleet, err := sim.StartFleet(sim.FleetConfig{Addr: minerAddr, Miners: 1, NoReconnect: true})
	if err != nil {
		t.Fatal(err)
	}
	defer fleet.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := fleet.WaitFor(ctx, func(s sim.FleetStats) bool { return s.Working == 1 }); err != nil {
		t.Fatalf("a miner through the image's proxy: %v; daemon output:\n%s", err, out)
	}
	var status struct {
		Workers map[string]int `json:"workers"`
	}
	if code, err := apiJSON("GET", "http://"+apiAddr+"/api/v1/status", "", nil, &status); err != nil || code != 200 {
		t.Errorf("status: %d %v, want 200", code, err)
	} else if n := status.Workers["mining"] + status.Workers["idle"]; n != 1 {
		t.Errorf("status workers %v, want the one connected miner", status.Workers)
	}
	fleet.Close()

	// Without a pool the check fails and says why.
	pool.Close()
	if err := sim.Poll(20*time.Second, func() bool {
		ok, o := healthcheck()
		last = o
		return !ok
	}); err != nil {
		t.Errorf("HEALTHCHECK still passes with the pool gone: %q", last)
	} else if !strings.Contains(last, "no live pool session") {
		t.Errorf("failing HEALTHCHECK said %q, want the reason \"no live pool session\"", last)
	}

	if err := d.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
		if waitErr != nil {
			t.Errorf("exit after SIGTERM: %v, want 0; output:\n%s", waitErr, out)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("no exit 15 s after SIGTERM; output:\n%s", out)
	}
	if n := out.Count("permission denied"); n > 0 {
		t.Errorf("%d \"permission denied\" in the output; want n <= 0:\n%s", n, out)
	}
	checkStateWritten(t, r, root)
	checkComposeConfig(t, r, root)
}

// checkStateWritten: the state, the last good policy and the audit log
// (its start event) are in the volume, owned by the image's user.
func checkStateWritten(t *testing.T, r imageRecipe, root string) {
	t.Helper()
	state := filepath.Join(root, "var/lib/hashgate")
	for _, name := range []string{"hashgate-state.json", "hashgate-audit.jsonl", "hashgate-state.last-good-policy.toml"} {
		var st syscall.Stat_t
		if err := syscall.Stat(filepath.Join(state, name), &st); err != nil {
			t.Errorf("%s not written in the volume: %v", name, err)
			continue
		}
		if int(st.Uid) != r.uid {
			t.Errorf("%s owned by %d, want %d", name, st.Uid, r.uid)
		}
	}
	f, err := os.Open(filepath.Join(state, "hashgate-audit.jsonl"))
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var kinds []string
	for sc.Scan() {
		var ev struct {
			Kind string `json:"kind"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) == nil {
			kinds = append(kinds, ev.Kind)
		}
	}
	if len(kinds) == 0 || kinds[0] != "start" {
		t.Errorf("audit log events %v, want the start event first", kinds)
	}
}

// checkComposeConfig: deploy/compose/hashgate.toml, mounted over the
// image's config with its token as a secret, passes `hashgate check` in
// the layout as the image's user (so the token file mode it documents
// is readable).
func checkComposeConfig(t *testing.T, r imageRecipe, root string) {
	t.Helper()
	data, err := os.ReadFile("../../deploy/compose/hashgate.toml")
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := path.Join(path.Dir(r.cmd[len(r.cmd)-1]), "compose.toml")
	if err := os.WriteFile(filepath.Join(root, cfgPath), data, 0o644); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(root, "run/secrets/hashgate_token")
	if err := os.MkdirAll(filepath.Dir(secret), 0o755); err != nil {
		t.Fatal(err)
	}
	const token = "compose-layout-secret-0123456789"
	if err := os.WriteFile(secret, []byte(token+"\n"), 0o400); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(secret, r.uid, r.gid); err != nil {
		t.Fatal(err)
	}
	check := inImage(r, root, []string{r.entrypoint[0], "check", "-c", cfgPath})
	b, err := check.CombinedOutput()
	if err != nil {
		t.Fatalf("hashgate check -c %s in the layout: %v\n%s", cfgPath, err, b)
	}
	if strings.Contains(string(b), token) {
		t.Errorf("check printed the token; want !strings.Contains(string(b), token):\n%s", b)
	}
	if !strings.Contains(string(b), "1 token(s)") || strings.Contains(string(b), "no API write token") {
		t.Errorf("compose config: want one write token from the secret, check said:\n%s", b)
	}
}

// unitSettings reads a systemd unit's Key=Value lines (last one wins,
// except repeated keys are all kept in order).
func unitSettings(t *testing.T, file string) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]string{}
	for _, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' || l[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			t.Fatalf("%s: %q is not Key=Value", file, l)
		}
		m[k] = append(m[k], v)
	}
	return m
}

// The systemd unit: a dedicated user, a descriptor limit for tens of
// thousands of rigs, restart on failure, ProtectSystem=strict with the
// state in its StateDirectory; systemd-analyze (when installed) finds
// nothing to say and rates its exposure at most 2.0 ("OK").
func TestSystemdUnit(t *testing.T) {
	const unit = "../../deploy/systemd/hashgate.service"
	s := unitSettings(t, unit)
	one := func(k string) string {
		if len(s[k]) == 0 {
			return ""
		}
		return s[k][len(s[k])-1]
	}
	if u := one("User"); u == "" || u == "root" || u == "0" {
		t.Errorf("User=%q, want a dedicated user", u)
	}
	if n, err := strconv.Atoi(one("LimitNOFILE")); err != nil || n < 65536 {
		t.Errorf("LimitNOFILE=%q, want at least 65536 (one descriptor per miner)", one("LimitNOFILE"))
	}
	for k, want := range map[string]string{"Restart": "on-failure", "ProtectSystem": "strict", "StateDirectory": "hashgate", "NoNewPrivileges": "yes"} {
		if got := one(k); got != want {
			t.Errorf("%s=%q, want %q", k, got, want)
		}
	}
	if !strings.Contains(one("ExecStart"), " run -c /etc/hashgate/hashgate.toml") {
		t.Errorf("ExecStart=%q, want run -c /etc/hashgate/hashgate.toml", one("ExecStart"))
	}
	for _, k := range []string{"ProcSubset", "PrivateNetwork"} {
		if len(s[k]) > 0 {
			t.Errorf("%s set: it breaks hashgate (listen backlog from /proc/sys; miners on the network); want len(s[k]) <= 0", k)
		}
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze not installed: the unit's syntax is not verified")
		return
	}
	// verify wants every Exec path to exist: point them at a real binary.
	dir := t.TempDir()
	bin := filepath.Join(dir, "hashgate")
	if err := os.WriteFile(bin, []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(unit)
	tmpUnit := filepath.Join(dir, "hashgate.service")
	if err := os.WriteFile(tmpUnit, []byte(strings.ReplaceAll(string(data), "/usr/local/bin/hashgate", bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", tmpUnit).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v; want err == nil, len(out) <= 0\n%s", err, out)
	}
	// --threshold is in tenths of the exposure it prints.
	if out, err := exec.Command(analyze, "security", "--offline=true", "--threshold=20", unit).CombinedOutput(); err != nil {
		t.Errorf("systemd-analyze security: exposure above 2.0 (%v):\n%s", err, out)
	}
}

// deploy/compose/compose.yaml (read line by line: there is no YAML parser
// in the module): every file it mounts exists, its secret is git-ignored
// and is the token_file of the config it mounts, Prometheus scrapes the
// port that config's API listens on, as job "hashgate" (the alerts' up{}).
func TestComposeFilesFit(t *testing.T) {
	const dir = "../../deploy/compose"
	data, err := os.ReadFile(filepath.Join(dir, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	mount := regexp.MustCompile(`^\s*-\s*"?(\.\.?/[^:"]+):([^:"]+)`)
	secretFile := regexp.MustCompile(`^\s*file:\s*(\./\S+)`)
	context := regexp.MustCompile(`^\s*context:\s*(\S+)`)
	var mounts int
	secret := ""
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		if m := mount.FindStringSubmatch(l); m != nil {
			mounts++
			if _, err := os.Stat(filepath.Join(dir, m[1])); err != nil {
				t.Errorf("compose.yaml mounts %s at %s: %v", m[1], m[2], err)
			}
		}
		if m := context.FindStringSubmatch(l); m != nil {
			if _, err := os.Stat(filepath.Join(dir, m[1], "Dockerfile")); err != nil {
				t.Errorf("compose.yaml builds %s: %v", m[1], err)
			}
		}
		if m := secretFile.FindStringSubmatch(l); m != nil {
			secret = m[1]
		}
	}
	if mounts < 4 {
		t.Errorf("compose.yaml: %d bind mounts read, want the config, rules and Grafana files", mounts)
	}
	ignore, _ := os.ReadFile(filepath.Join(dir, ".gitignore"))
	if secret == "" || !strings.Contains(string(ignore), strings.TrimPrefix(path.Dir(secret), "./")+"/") {
		t.Errorf("the compose secret %q is not git-ignored (deploy/compose/.gitignore: %q); want secret != \"\", strings.Contains(string(ignore), strings.TrimPrefix(path.Dir(secret), \"./\")+\"/\")", secret, ignore)
	}

	cfg, err := os.ReadFile(filepath.Join(dir, "hashgate.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cfg), `token_file = "/run/secrets/hashgate_token"`) || !strings.Contains(string(data), "  hashgate_token:\n    file: "+secret) {
		t.Errorf("compose: the secret hashgate_token (file %s) is not the token_file of hashgate.toml", secret)
	}
	prom, err := os.ReadFile("../../deploy/prometheus/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cfg), `listen = "0.0.0.0:8080"`) || !strings.Contains(string(prom), `targets: ["hashgate:8080"]`) || !strings.Contains(string(prom), "job_name: hashgate\n") {
		t.Errorf("prometheus.yml does not scrape job hashgate at hashgate:8080, where compose's hashgate.toml listens:\n%s", prom)
	}
}
