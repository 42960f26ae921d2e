// Package packaging_test checks what `make deb` ships: it builds the .deb with
// packaging/build-deb.sh, lints it and analyzes the systemd units
// (packaging_test.go), and installs, operates, upgrades and purges it in a
// throwaway Debian system booted with a real systemd (boot_test.go). Nothing
// here changes the machine the tests run on: no package, group or unit is
// installed on it.
package packaging_test

import (
	"bufio"
	"context"
	"debug/elf"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// maxExposure is the highest `systemd-analyze security` exposure score the
// agent's unit may have: 3.0 and below is systemd's "OK" level.
const maxExposure = 3.0

// require skips the test when a tool it needs is missing or it is not root
// (when root is true), and fails instead under CI=true: CI installs them all.
func require(t *testing.T, root bool, tools ...string) {
	t.Helper()
	var why []string
	if root && os.Geteuid() != 0 {
		why = append(why, "root")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			why = append(why, tool)
		}
	}
	if len(why) == 0 {
		return
	}
	msg := "needs " + strings.Join(why, ", ")
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true, so not skipping)", msg)
	}
	t.Skip(msg)
}

// run runs a command and returns its combined output; it fails the test when
// the command fails.
func run(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	out, err := runErr(env, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func runErr(env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// buildDeb builds the package into a temporary directory with build-deb.sh,
// the script behind `make deb`, with more environment in env (VERSION=...).
func buildDeb(t *testing.T, env []string) string {
	t.Helper()
	require(t, false, "go", "dpkg-deb", "dpkg", "git", "gzip")
	dist := t.TempDir()
	out := run(t, append([]string{"DIST=" + dist}, env...), "./build-deb.sh")
	debs, _ := filepath.Glob(filepath.Join(dist, "quantum-agent_*.deb"))
	if len(debs) != 1 {
		t.Fatalf("build-deb.sh made %d packages in %s, want 1\n%s", len(debs), dist, out)
	}
	return debs[0]
}

// TestDeb builds the package once and checks it: contents and lintian. It is
// installed nowhere here: boot_test.go installs and operates it in a throwaway
// system.
func TestDeb(t *testing.T) {
	path := buildDeb(t, nil)
	t.Run("contents", func(t *testing.T) { checkContents(t, path) })
	t.Run("lintian", func(t *testing.T) { checkLintian(t, path) })
}

// checkContents checks the package's control fields and file list, and what
// its files say: man pages render cleanly, the shipped config names every flag
// of the agent, the completion and man page know every quantumctl command.
func checkContents(t *testing.T, path string) {

	version := run(t, nil, "dpkg-deb", "-f", path, "Version")
	if !regexp.MustCompile(`^[0-9][0-9A-Za-z.+~]*-1\n$`).MatchString(version) {
		t.Errorf("Version %q: want <upstream>-1 made of Debian version characters", version)
	}
	if !strings.HasSuffix(filepath.Base(path), "_"+strings.TrimSpace(run(t, nil, "dpkg", "--print-architecture"))+".deb") {
		t.Errorf("%s is not named for this machine's architecture", filepath.Base(path))
	}
	if deps := run(t, nil, "dpkg-deb", "-f", path, "Depends"); !strings.Contains(deps, "openvswitch-common") || !strings.Contains(deps, "adduser") {
		t.Errorf("Depends %q: want adduser and openvswitch-common (ovsdb-server)", deps)
	}

	modes := map[string]string{}
	for _, line := range strings.Split(run(t, nil, "dpkg-deb", "-c", path), "\n") {
		f := strings.Fields(line)
		if len(f) >= 6 {
			modes[strings.TrimPrefix(f[5], "./")] = f[0] + " " + f[1]
		}
	}
	want := map[string]string{
		"usr/bin/quantum-agent":                               "-rwxr-xr-x root/root",
		"usr/bin/quantumctl":                                  "-rwxr-xr-x root/root",
		"lib/systemd/system/quantum-agent.service":            "-rw-r--r-- root/root",
		"lib/systemd/system/quantum-agent.socket":             "-rw-r--r-- root/root",
		"lib/systemd/system/quantum-ovsdb.service":            "-rw-r--r-- root/root",
		"usr/lib/quantum-agent/quantum-ovsdb-start":           "-rwxr-xr-x root/root",
		"usr/share/quantum-agent/quantum.ovsschema":           "-rw-r--r-- root/root",
		"etc/quantum-agent/agent.conf":                        "-rw-r--r-- root/root",
		"usr/share/man/man8/quantum-agent.8.gz":               "-rw-r--r-- root/root",
		"usr/share/man/man1/quantumctl.1.gz":                  "-rw-r--r-- root/root",
		"usr/share/bash-completion/completions/quantumctl":    "-rw-r--r-- root/root",
		"usr/share/doc/quantum-agent/copyright":               "-rw-r--r-- root/root",
		"usr/share/doc/quantum-agent/changelog.Debian.gz":     "-rw-r--r-- root/root",
		"usr/share/doc/quantum-agent/README.md.gz":            "-rw-r--r-- root/root",
		"usr/share/doc/quantum-agent/operations.md.gz":        "-rw-r--r-- root/root",
		"usr/share/doc/quantum-agent/api.md.gz":               "-rw-r--r-- root/root",
		"usr/share/doc/quantum-agent/THIRD-PARTY-LICENSES.gz": "-rw-r--r-- root/root",
	}
	for p, m := range want {
		if got, ok := modes[p]; !ok {
			t.Errorf("package lacks /%s", p)
		} else if got != m {
			t.Errorf("/%s is %q, want %q", p, got, m)
		}
	}
	if conf := run(t, nil, "sh", "-c", "dpkg-deb --ctrl-tarfile \"$1\" | tar -xOf - ./conffiles", "sh", path); conf != "/etc/quantum-agent/agent.conf\n" {
		t.Errorf("conffiles = %q, want the config file alone", conf)
	}

	root := t.TempDir()
	run(t, nil, "dpkg-deb", "-x", path, root)
	t.Run("binaries", func(t *testing.T) { checkBinaries(t, root, version) })
	t.Run("manpages", func(t *testing.T) { checkManPages(t, root) })
	t.Run("config", func(t *testing.T) { checkConfig(t, root) })
	t.Run("completion", func(t *testing.T) { checkCompletion(t, root) })
}

// checkBinaries: position-independent, no shared library needed (pure Go), and
// both report the package's version.
func checkBinaries(t *testing.T, root, debVersion string) {
	for _, name := range []string{"quantum-agent", "quantumctl"} {
		p := filepath.Join(root, "usr/bin", name)
		f, err := elf.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		libs, err := f.ImportedLibraries()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if f.Type != elf.ET_DYN {
			t.Errorf("%s: ELF type %v, want a position-independent executable (ET_DYN)", name, f.Type)
		}
		if len(libs) != 0 {
			t.Errorf("%s needs shared libraries %v; the package depends on none", name, libs)
		}
	}
	// Both print the package's version: what dpkg and apt show is what runs.
	for _, name := range []string{"quantum-agent", "quantumctl"} {
		out := strings.TrimSpace(run(t, nil, filepath.Join(root, "usr/bin", name), "--version"))
		if want := name + " " + strings.TrimSpace(debVersion); out != want {
			t.Errorf("%s --version = %q, want %q (the package version)", name, out, want)
		}
	}
}

// checkManPages renders both pages with groff's warnings on: any warning fails.
func checkManPages(t *testing.T, root string) {
	require(t, false, "groff")
	for _, page := range []string{"usr/share/man/man8/quantum-agent.8.gz", "usr/share/man/man1/quantumctl.1.gz"} {
		cmd := exec.Command("sh", "-c", `gzip -dc "$1" | groff -man -Tutf8 -ww -z`, "sh", filepath.Join(root, page))
		out, err := cmd.CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("groff on /%s: %v\n%s", page, err, out)
		}
	}
}

// checkConfig: the shipped agent.conf has a (commented) key for every flag of
// the agent but --config and --version, and no key that is not a flag.
func checkConfig(t *testing.T, root string) {
	flags := agentFlags(t, filepath.Join(root, "usr/bin/quantum-agent"))
	var keys []string
	conf, err := os.ReadFile(filepath.Join(root, "etc/quantum-agent/agent.conf"))
	if err != nil {
		t.Fatal(err)
	}
	key := regexp.MustCompile(`^# ([a-z_]+) = `)
	for _, line := range strings.Split(string(conf), "\n") {
		if strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "# ") && !strings.HasPrefix(line, "##") && line != "#" {
			t.Errorf("agent.conf: %q: comments are '# text', examples '# key = value'", line)
		}
		if !strings.HasPrefix(line, "#") && strings.TrimSpace(line) != "" {
			t.Errorf("agent.conf sets %q: every key ships commented out, at its default", line)
		}
		if m := key.FindStringSubmatch(line); m != nil {
			keys = append(keys, m[1])
		}
	}
	for _, f := range flags {
		if f == "config" || f == "version" {
			continue
		}
		if k := strings.ReplaceAll(f, "-", "_"); !slices.Contains(keys, k) {
			t.Errorf("agent.conf has no %s (flag --%s)", k, f)
		}
	}
	for _, k := range keys {
		if !slices.Contains(flags, strings.ReplaceAll(k, "_", "-")) {
			t.Errorf("agent.conf key %s is no flag of quantum-agent", k)
		}
	}
}

// agentFlags lists the flags `quantum-agent -h` prints.
func agentFlags(t *testing.T, bin string) []string {
	out, _ := runErr(nil, bin, "-h") // exits 0 or 2 depending on the flag package's mood
	var flags []string
	for _, m := range regexp.MustCompile(`(?m)^  --?([a-z][a-z0-9-]*)`).FindAllStringSubmatch(out, -1) {
		flags = append(flags, m[1])
	}
	if len(flags) < 10 {
		t.Fatalf("quantum-agent -h lists %d flags:\n%s", len(flags), out)
	}
	return flags
}

// checkCompletion: the bash completion completes every command `quantumctl
// help` lists (and nothing else but help and flags), and the man page
// describes every one of them.
func checkCompletion(t *testing.T, root string) {
	require(t, false, "bash")
	out := run(t, nil, filepath.Join(root, "usr/bin/quantumctl"), "help")
	var cmds []string
	sc := bufio.NewScanner(strings.NewReader(out))
	inCommands := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "Commands:":
			inCommands = true
		case inCommands && strings.HasPrefix(line, "  "):
			cmds = append(cmds, strings.Fields(line)[0])
		case inCommands:
			inCommands = false
		}
	}
	if len(cmds) < 10 {
		t.Fatalf("quantumctl help lists %d commands:\n%s", len(cmds), out)
	}

	// What bash offers for "quantumctl <TAB>", from the installed script, which
	// asks the installed quantumctl; _get_comp_words_by_ref (bash-completion's,
	// which loads the script) and compopt (real completions only) stand in.
	script := filepath.Join(root, "usr/share/bash-completion/completions/quantumctl")
	pathEnv := []string{"PATH=" + filepath.Join(root, "usr/bin") + ":" + os.Getenv("PATH")}
	offered := strings.Fields(run(t, pathEnv, "bash", "-c", `compopt() { :; }
_get_comp_words_by_ref() { cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}; words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; }
COMP_TYPE=37
source "$1"
f=$(complete -p quantumctl | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
COMP_WORDS=(quantumctl ""); COMP_CWORD=1
"$f"
printf '%s\n' "${COMPREPLY[@]}"`, "bash", script))
	for _, c := range cmds {
		if !slices.Contains(offered, c) {
			t.Errorf("bash completion does not offer command %s (offers %v)", c, offered)
		}
	}
	for _, o := range offered {
		if !slices.Contains(cmds, o) && o != "help" && !strings.HasPrefix(o, "-") {
			t.Errorf("bash completion offers %s, which quantumctl does not know", o)
		}
	}

	man := run(t, nil, "sh", "-c", `gzip -dc "$1"`, "sh", filepath.Join(root, "usr/share/man/man1/quantumctl.1.gz"))
	man = strings.ReplaceAll(man, `\-`, "-")
	for _, c := range cmds {
		if !regexp.MustCompile(`(?m)^\.B[IR]? "?` + regexp.QuoteMeta(c) + `[ "\n]`).MatchString(man + "\n") {
			t.Errorf("quantumctl(1) does not describe command %s", c)
		}
	}
}

// checkLintian fails on any error lintian reports about the package; warnings
// and infos are logged (the few that do not apply are overridden, with reasons,
// in packaging/debian/lintian-overrides).
func checkLintian(t *testing.T, path string) {
	require(t, false, "lintian")
	out, err := runErr(nil, "lintian", "--display-info", "--show-overrides", path)
	var errs []string
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "E: "):
			errs = append(errs, line)
		case strings.HasPrefix(line, "W: "), strings.HasPrefix(line, "I: "), strings.HasPrefix(line, "O: "):
			t.Log(line)
		}
	}
	if len(errs) > 0 {
		t.Errorf("lintian reports errors:\n%s", strings.Join(errs, "\n"))
	}
	// lintian exits non-zero for errors (counted above) and for its own failures.
	if err != nil && len(errs) == 0 {
		t.Errorf("lintian: %v\n%s", err, out)
	}
}

// TestUnitSecurity: the agent's unit scores at most maxExposure in systemd's
// own exposure analysis, and the Quantum DB's too.
func TestUnitSecurity(t *testing.T) {
	require(t, false, "systemd-analyze")
	for _, unit := range []string{"quantum-agent.service", "quantum-ovsdb.service"} {
		score := exposure(t, filepath.Join("..", "systemd", unit))
		t.Logf("%s: exposure %.1f", unit, score)
		if score > maxExposure {
			t.Errorf("%s: exposure %.1f, want at most %.1f", unit, score, maxExposure)
		}
	}
}

// exposure runs `systemd-analyze security --offline=true` on a unit file and
// returns its overall exposure level.
func exposure(t *testing.T, unitFile string) float64 {
	t.Helper()
	out, err := runErr([]string{"SYSTEMD_COLORS=0", "SYSTEMD_PAGER="}, "systemd-analyze", "security", "--offline=true", "--no-pager", unitFile)
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+) `).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security %s: %v: no overall exposure level in\n%s", unitFile, err, out)
	}
	score, perr := strconv.ParseFloat(m[1], 64)
	if perr != nil {
		t.Fatal(perr)
	}
	return score
}

// ovsdbServer is an ovsdb-server the start helper detached.
type ovsdbServer struct {
	sock, pidfile string
}

// startOVSDB runs the start helper with its run directory at rundir and more
// environment in env, and stops the server it started when the test ends.
func startOVSDB(t *testing.T, helper, rundir string, env []string) *ovsdbServer {
	t.Helper()
	env = append([]string{"QUANTUM_RUNDIR=" + rundir}, env...)
	srv := &ovsdbServer{sock: filepath.Join(rundir, "db.sock"), pidfile: filepath.Join(rundir, "ovsdb-server.pid")}
	t.Cleanup(func() { srv.stop(t) })
	out := run(t, env, helper)
	if out != "" {
		t.Logf("%s: %s", helper, strings.TrimSpace(out))
	}
	return srv
}

// stop sends SIGTERM to the server named in the pidfile and waits for it to
// remove the pidfile on its way out; a no-op once stopped.
func (s *ovsdbServer) stop(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile(s.pidfile)
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		t.Errorf("pidfile %s: %q", s.pidfile, b)
		return
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for i := 0; i < 300; i++ {
		if err := syscall.Kill(pid, 0); err != nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	t.Errorf("ovsdb-server %d ignored SIGTERM for 30s; killed", pid)
}

// TestOVSDBStartHelper runs packaging/quantum-ovsdb-start (no root needed, all
// in a temporary directory): it creates the database, converts an older one
// after a backup, and serves a newer one as it is.
func TestOVSDBStartHelper(t *testing.T) {
	require(t, false, "ovsdb-tool", "ovsdb-server", "ovsdb-client")
	schema, err := filepath.Abs("../agent/qdb/quantum.ovsschema")
	if err != nil {
		t.Fatal(err)
	}
	current := strings.TrimSpace(run(t, nil, "ovsdb-tool", "schema-version", schema))

	cases := []struct {
		name     string
		existing string // schema version of a database made before the start; "" for none
		want     string // the database's schema version once served
		backup   bool
	}{
		{"create", "", current, false},
		{"convert older", "0.0.1", current, true},
		{"keep newer", "99.0.0", "99.0.0", false},
		{"keep current", current, current, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			db := filepath.Join(dir, "lib", "quantum.db")
			if tc.existing != "" {
				if err := os.MkdirAll(filepath.Dir(db), 0o700); err != nil {
					t.Fatal(err)
				}
				old := schemaVersion(t, schema, tc.existing, dir, tc.backup)
				run(t, nil, "ovsdb-tool", "create", db, old)
			}
			srv := startOVSDB(t, "./quantum-ovsdb-start", filepath.Join(dir, "run"),
				[]string{"QUANTUM_DB_FILE=" + db, "QUANTUM_DB_SCHEMA=" + schema})
			got := strings.TrimSpace(run(t, nil, "ovsdb-client", "get-schema-version", "unix:"+srv.sock, "Quantum"))
			if got != tc.want {
				t.Errorf("served schema version %s, want %s", got, tc.want)
			}
			backups, _ := filepath.Glob(db + ".backup-*")
			if tc.backup != (len(backups) == 1) {
				t.Errorf("backups %v, want one: %v", backups, tc.backup)
			}
			if tc.backup && len(backups) == 1 {
				if v := strings.TrimSpace(run(t, nil, "ovsdb-tool", "db-version", backups[0])); v != tc.existing {
					t.Errorf("backup %s has schema %s, want the old %s", backups[0], v, tc.existing)
				}
			}
			srv.stop(t)
		})
	}
}

// schemaVersion writes a copy of schema with another version number and
// returns its path. An older one also lacks the last column of the Global
// table, as an older schema lacks what came later.
func schemaVersion(t *testing.T, schema, version, dir string, older bool) string {
	t.Helper()
	b, err := os.ReadFile(schema)
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	s["version"] = version
	if older {
		cols, ok := s["tables"].(map[string]any)["Global"].(map[string]any)["columns"].(map[string]any)
		if !ok || len(cols) < 2 {
			t.Fatalf("%s: no Global table with columns", schema)
		}
		names := slices.Sorted(maps.Keys(cols))
		delete(cols, names[len(names)-1])
	}
	if b, err = json.Marshal(s); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "schema-"+version+".ovsschema")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
