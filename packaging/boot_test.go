package packaging_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The boot test: the package as an operator meets it, on a throwaway Debian
// bookworm with a real systemd PID 1, booted with systemd-nspawn in its own
// network namespace. Nothing is installed on the machine running the test: the
// system is a copy, per run, of a root made once by mmdebstrap and cached (see
// bootCacheDir); two runs at once use two copies and two machine names.
//
// Inside, quantum-boot-test.service runs testdata/boot/scenario.sh at boot: the
// shell blocks of docs/operations.md tagged "<!-- boot-test: NAME -->"
// (install, single host, upgrade, purge, cleanup after purge), verbatim, and
// around them the checks of each step. It writes one result line per step and
// powers the system off; each step becomes a subtest here.

// bootSuite and bootVariant are what mmdebstrap builds; bootPackages is added to
// the package's own Depends and Recommends (so the install resolves them from
// the root, with no network in the container): systemd to boot, the tools the
// scenario uses.
const (
	bootSuite   = "bookworm"
	bootVariant = "minbase"
)

func bootPackages() []string {
	return []string{"systemd", "systemd-sysv", "dbus", "iproute2", "iputils-ping", "procps", "passwd", "man-db"}
}

// docBlocks are the tags of operations.md's blocks the scenario runs, each
// written to doc-TAG.sh in the booted system.
func docBlocks() []string {
	return []string{"install", "single-host", "upgrade", "convert", "purge", "cleanup"}
}

// bootTimeout bounds the whole boot (about 2 minutes here; the slowest step
// waits for systemd's watchdog, 30 s, and abort timeout, 45 s), below the 20
// minutes of make test's go test -timeout so that a hung boot fails cleanly.
const bootTimeout = 12 * time.Minute

func TestBoot(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a Debian system: not in -short")
	}
	require(t, true, "mmdebstrap", "systemd-nspawn", "tar", "dpkg-deb")
	v1 := buildDeb(t, nil)
	// The same tree as a newer version: the upgrade step installs it over v1.
	version := strings.TrimSpace(run(t, nil, "dpkg-deb", "-f", v1, "Version"))
	upstream, _, _ := strings.Cut(version, "-")
	v2 := buildDeb(t, []string{"VERSION=" + upstream + "+boottest-1"})

	root := filepath.Join(t.TempDir(), "root")
	base := bootRoot(t, append(bootPackages(), packageDeps(t, v1)...))
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, nil, "tar", "-C", root, "--numeric-owner", "-xpf", base)
	prepareBoot(t, root, v1, v2)

	console := bootSystem(t, root)
	results, err := os.ReadFile(filepath.Join(root, "var/lib/quantum-boot-test/results"))
	if err != nil {
		t.Fatalf("the scenario left no results (%v); console:\n%s", err, tail(console, 80))
	}
	if !reportSteps(t, string(results)) {
		t.Errorf("the scenario did not finish; console:\n%s", tail(console, 80))
	}
}

// reportSteps turns the scenario's result lines into subtests and reports
// whether it got to its end.
func reportSteps(t *testing.T, results string) bool {
	type step struct{ name, verdict, detail string }
	var steps []*step
	done := false
	sc := bufio.NewScanner(strings.NewReader(results))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "DONE":
			done = true
		case strings.HasPrefix(line, "  | ") && len(steps) > 0:
			steps[len(steps)-1].detail += strings.TrimPrefix(line, "  | ") + "\n"
		default:
			verdict, rest, _ := strings.Cut(line, " ")
			name, why, _ := strings.Cut(rest, ": ")
			name, _, _ = strings.Cut(name, " ")
			steps = append(steps, &step{name: name, verdict: verdict, detail: why})
		}
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			switch s.verdict {
			case "PASS":
			case "SKIP":
				t.Skip(s.detail)
			case "FAIL":
				t.Errorf("step %s failed; its last output:\n%s", s.name, s.detail)
			default:
				t.Errorf("result line %q: unknown verdict", s.verdict)
			}
		})
	}
	return done
}

// packageDeps lists the packages the .deb depends on or recommends (the first
// of any alternatives, without versions): the cached root has them, so the
// install in the container, which has no network, resolves them.
func packageDeps(t *testing.T, deb string) []string {
	var deps []string
	for _, field := range []string{"Depends", "Recommends"} {
		for _, d := range strings.Split(run(t, nil, "dpkg-deb", "-f", deb, field), ",") {
			d, _, _ = strings.Cut(d, "|")
			d, _, _ = strings.Cut(d, "(")
			if d = strings.TrimSpace(d); d != "" {
				deps = append(deps, d)
			}
		}
	}
	return deps
}

// bootCacheDir is where the mmdebstrap roots are kept between runs: a cache,
// not part of the machine's state; delete it to start afresh.
func bootCacheDir() string {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "quantum-agent-test")
	}
	return "/var/cache/quantum-agent-test"
}

// bootRoot returns the cached tarball of a root with the packages, making it
// with mmdebstrap first when missing. The name holds a digest of what is in
// it, so a new package list makes a new root; a lock keeps two runs from
// building the same one at once.
func bootRoot(t *testing.T, packages []string) string {
	t.Helper()
	dir := bootCacheDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	include := strings.Join(packages, ",")
	sum := sha256.Sum256([]byte(bootSuite + " " + bootVariant + " " + include))
	tarball := filepath.Join(dir, fmt.Sprintf("%s-%s-%s.tar", bootSuite, bootVariant, hex.EncodeToString(sum[:6])))

	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)

	if _, err := os.Stat(tarball); err == nil {
		t.Logf("root: %s (cached)", tarball)
		return tarball
	}
	t.Logf("root: making %s with mmdebstrap (%s)", tarball, include)
	tmp := tarball + fmt.Sprintf(".%d.tmp", os.Getpid())
	defer os.Remove(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "mmdebstrap", "--quiet", "--format=tar", "--variant="+bootVariant,
		"--include="+include, bootSuite, tmp)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mmdebstrap: %v\n%s", err, out)
	}
	if err := os.Rename(tmp, tarball); err != nil {
		t.Fatal(err)
	}
	// The roots of other package lists are out of date: keep one root only.
	old, _ := filepath.Glob(filepath.Join(dir, bootSuite+"-"+bootVariant+"-*.tar"))
	for _, o := range old {
		if o != tarball {
			t.Logf("root: removing the out-of-date %s", o)
			_ = os.Remove(o)
		}
	}
	return tarball
}

// prepareBoot puts the scenario, its unit, the docs' blocks and both packages
// into the root.
func prepareBoot(t *testing.T, root, v1, v2 string) {
	t.Helper()
	lib := filepath.Join(root, "usr/local/lib/quantum-boot")
	blocks := taggedBlocks(t, "../docs/operations.md")
	for _, tag := range docBlocks() {
		body, ok := blocks[tag]
		if !ok {
			t.Fatalf("docs/operations.md has no block tagged <!-- boot-test: %s --> (the boot test runs it)", tag)
		}
		writeFile(t, filepath.Join(lib, "doc-"+tag+".sh"), 0o755, "# from docs/operations.md, tag "+tag+"\n"+body)
	}
	for _, f := range []string{"scenario.sh", "edit-conf"} {
		copyFile(t, filepath.Join("testdata/boot", f), filepath.Join(lib, f), 0o755)
	}
	copyFile(t, v1, filepath.Join(lib, "v1", filepath.Base(v1)), 0o644)
	copyFile(t, v2, filepath.Join(lib, "v2", filepath.Base(v2)), 0o644)

	unit := "quantum-boot-test.service"
	copyFile(t, filepath.Join("testdata/boot", unit), filepath.Join(root, "etc/systemd/system", unit), 0o644)
	wants := filepath.Join(root, "etc/systemd/system/multi-user.target.wants")
	if err := os.MkdirAll(wants, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/systemd/system/"+unit, filepath.Join(wants, unit)); err != nil {
		t.Fatal(err)
	}
	// The docs' apt commands run as typed; the "Do you want to continue?" they
	// would ask is answered here.
	writeFile(t, filepath.Join(root, "etc/apt/apt.conf.d/90quantum-boot-test"), 0o644,
		"APT::Get::Assume-Yes \"true\";\n")
}

// taggedBlocks returns the fenced blocks of a Markdown file that follow a
// "<!-- boot-test: TAG -->" line, by tag.
func taggedBlocks(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blocks := map[string]string{}
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		tag, ok := strings.CutPrefix(strings.TrimSpace(lines[i]), "<!-- boot-test:")
		if !ok {
			continue
		}
		tag = strings.TrimSpace(strings.TrimSuffix(tag, "-->"))
		if i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "```") {
			t.Fatalf("%s:%d: tag %s is not followed by a fenced block", path, i+1, tag)
		}
		var body strings.Builder
		for i += 2; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
			body.WriteString(lines[i] + "\n")
		}
		if _, dup := blocks[tag]; dup {
			t.Fatalf("%s: tag %s is used twice", path, tag)
		}
		blocks[tag] = body.String()
	}
	return blocks
}

// bootSystem boots root with systemd-nspawn and waits until the scenario
// powers it off; it returns the console output. The machine name is unique
// to this run.
func bootSystem(t *testing.T, root string) string {
	t.Helper()
	var id [4]byte
	_, _ = rand.Read(id[:])
	name := fmt.Sprintf("qa-boot-%d-%s", os.Getpid(), hex.EncodeToString(id[:]))
	console := filepath.Join(filepath.Dir(root), "console.log")
	f, err := os.Create(console)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
	defer cancel()
	// --keep-unit: without a systemd on this machine there is no bus to register
	// a scope on. --private-network: the container's own namespace, where it may
	// make links (bridges, veths, the VMs' namespaces).
	cmd := exec.CommandContext(ctx, "systemd-nspawn", "-q", "-D", root, "--boot",
		"--register=no", "--keep-unit", "--private-network", "-M", name)
	cmd.Stdout, cmd.Stderr = f, f
	// Out of time: SIGTERM asks the container's systemd to power off; SIGKILL
	// if it does not.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = time.Minute
	t.Logf("booting %s in %s", name, root)
	err = cmd.Run()
	out, _ := os.ReadFile(console)
	if ctx.Err() != nil {
		t.Errorf("the system did not power off within %v", bootTimeout)
	} else if err != nil {
		t.Errorf("systemd-nspawn: %v", err)
	}
	return string(out)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func writeFile(t *testing.T, path string, mode os.FileMode, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, mode, string(b))
}
