package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/quantum-agent/quantum-agent/api/client"
	"github.com/quantum-agent/quantum-agent/internal/testbed"
	"github.com/quantum-agent/quantum-agent/internal/testutil"
)

// rawAPI speaks HTTP to the agent's socket without api/client's retries, so
// a test sees each answer exactly as the agent gave it.
type rawAPI struct{ hc *http.Client }

func newRawAPI(socket string) *rawAPI {
	return &rawAPI{hc: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
	}}}
}

// do sends one request; key, when set, is its Idempotency-Key.
func (a *rawAPI) do(method, path, body, key string) (int, string, error) {
	req, err := http.NewRequest(method, "http://agent"+path, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// createNetwork returns the new network's id, or the status and body of the
// fault.
func (a *rawAPI) createNetwork(tenant, name, key string) (string, int, string) {
	code, body, err := a.do("POST", "/v1.1/tenants/"+tenant+"/networks", `{"network":{"name":"`+name+`"}}`, key)
	if err != nil {
		return "", 0, err.Error()
	}
	var doc struct {
		Network struct {
			ID string `json:"id"`
		} `json:"network"`
	}
	if code != http.StatusAccepted || json.Unmarshal([]byte(body), &doc) != nil {
		return "", code, body
	}
	return doc.Network.ID, code, body
}

// createPort returns the new port's id, or the status and body of the fault.
func (a *rawAPI) createPort(tenant, netID, key string) (string, int, string) {
	code, body, err := a.do("POST", "/v1.1/tenants/"+tenant+"/networks/"+netID+"/ports", `{"port":{"state":"ACTIVE"}}`, key)
	if err != nil {
		return "", 0, err.Error()
	}
	var doc struct {
		Port struct {
			ID string `json:"id"`
		} `json:"port"`
	}
	if code != http.StatusAccepted || json.Unmarshal([]byte(body), &doc) != nil {
		return "", code, body
	}
	return doc.Port.ID, code, body
}

// alive reports whether the agent process still runs.
func (p *agentProc) alive() bool {
	select {
	case <-p.Done():
		return false
	default:
		return true
	}
}

// freeze stops process pid (SIGSTOP: its sockets stay open, nothing
// answers) and returns the function that lets it go on (SIGCONT); the
// test's cleanup calls it too, at most once in all.
func freeze(t *testing.T, pid int) func() {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	thaw := func() { once.Do(func() { _ = syscall.Kill(pid, syscall.SIGCONT) }) }
	t.Cleanup(thaw)
	return thaw
}

// waitStatus polls the agent's /status until cond holds; it returns how long
// that took, for the log (never asserted: the machine is shared).
func waitStatus(t *testing.T, c *client.Client, what string, limit time.Duration, cond func(*client.AgentStatus) bool) time.Duration {
	t.Helper()
	start := time.Now()
	var last *client.AgentStatus
	held := testutil.Poll(limit, 100*time.Millisecond, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		st, err := c.Status(ctx)
		if err != nil {
			return false
		}
		last = st
		return cond(st)
	})
	if !held {
		t.Fatalf("never %s within %s; last status %+v", what, limit, last)
	}
	d := time.Since(start)
	t.Logf("%s after %s (reason %q)", what, d.Round(10*time.Millisecond), last.Reason)
	return d
}

// TestStalledQuantumDBNoticed: a Quantum DB that stops answering (SIGSTOP:
// its socket stays open, nothing replies) makes the agent not ready within
// seconds, and writes fail at once saying nothing was changed, instead of
// each waiting out its deadline; when the DB answers again the agent is ready
// and writes work, without a restart.
func TestStalledQuantumDBNoticed(t *testing.T) {
	s := newSandbox(t)
	p := s.start(t)
	c := client.New(s.socket, client.WithTimeout(20*time.Second))
	raw := newRawAPI(s.socket)
	waitStatus(t, c, "ready", 60*time.Second, func(st *client.AgentStatus) bool { return st.Ready })

	resume := freeze(t, readPID(t, filepath.Join(s.qdb.Dir, "db.pid")))

	// Sent before the agent notices: the DB gets it but cannot answer, so the
	// outcome is unknown; the keyed retry below tells.
	inflight := make(chan [2]string, 1)
	go func() {
		id, code, body := raw.createNetwork("demo", "in-flight", "key-in-flight-1")
		inflight <- [2]string{id, fmt.Sprintf("%d %s", code, body)}
	}()

	waitStatus(t, c, "not ready with the DB stalled", 30*time.Second, func(st *client.AgentStatus) bool {
		return !st.Ready && strings.Contains(st.Reason, "Quantum DB")
	})
	start := time.Now()
	_, code, body := raw.createNetwork("demo", "during-stall", "")
	t.Logf("create during the stall: %d after %s: %s", code, time.Since(start).Round(time.Millisecond), body)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "nothing was changed") {
		t.Fatalf("create with the DB known stalled: %d %s, want 503 saying nothing was changed", code, body)
	}
	first := <-inflight
	t.Logf("create in flight when the DB stalled: %s", first[1])
	if first[0] == "" && !strings.Contains(first[1], "may or may not") {
		t.Fatalf("in-flight create: %s, want 503 saying the outcome is unknown", first[1])
	}
	resume()
	waitStatus(t, c, "ready again", 60*time.Second, func(st *client.AgentStatus) bool { return st.Ready })
	if id, code, body := raw.createNetwork("demo", "after-stall", ""); id == "" {
		t.Fatalf("create after the DB came back: %d %s", code, body)
	}
	retried, code, body := raw.createNetwork("demo", "in-flight", "key-in-flight-1")
	if retried == "" || (first[0] != "" && retried != first[0]) {
		t.Fatalf("keyed retry of the in-flight create: %d %s (first answer %s)", code, body, first[1])
	}
	nets, err := c.ListNetworksDetail(ctxT(t), "demo", nil)
	if err != nil {
		t.Fatal(err)
	}
	inFlight := 0
	for _, n := range nets {
		switch n.Name {
		case "during-stall":
			t.Fatalf("a write refused with 'nothing was changed' exists: %+v", n)
		case "in-flight":
			inFlight++
			if n.ID != retried {
				t.Fatalf("network in-flight is %s, the keyed retry answered %s", n.ID, retried)
			}
		}
	}
	if inFlight != 1 {
		t.Fatalf("%d networks named in-flight after a create and its keyed retry, want 1", inFlight)
	}
	if !p.alive() {
		t.Fatal("agent exited")
	}
}

// TestFrozenLeaderFailover: with a 3-member Raft Quantum DB, a leader that
// freezes (SIGSTOP) is set aside: writes succeed again through the new
// leader within seconds instead of wedging the agent for good, and when the
// old leader thaws nothing acknowledged is lost.
func TestFrozenLeaderFailover(t *testing.T) {
	testbed.RequireRoot(t)
	cluster := testbed.StartQuantumCluster(t, 3)
	dir := testutil.ShortDir(t)
	hv := testbed.StartOVS(t, testbed.OVSOptions{})
	socket := filepath.Join(dir, "q.sock")
	args := []string{"netns", "exec", hv.NetNS, filepath.Join(bins, "quantum-agent"),
		"--socket", socket, "--quantum-db", cluster.Endpoints(), "--ovs-db", hv.DBSocket,
		"--ovs-datapath-type", "netdev", "--network-vlan-ranges", "physnet1:100:199",
		"--host", "hv-frozen", "--request-timeout", "5s", "--metrics-listen", "", "--log-level", "debug"}
	p := startAgent(t, "agent", exec.Command("ip", args...), socket)
	c := client.New(socket, client.WithTimeout(30*time.Second))
	p.waitAnswering(t, c, 60*time.Second)
	raw := newRawAPI(socket)

	var acked []string
	for i := range 3 {
		id, code, body := raw.createNetwork("demo", fmt.Sprintf("before-%d", i), "")
		if id == "" {
			t.Fatalf("create before the freeze: %d %s", code, body)
		}
		acked = append(acked, id)
	}

	leader := cluster.Leader()
	pid := leader.PID()
	thaw := freeze(t, pid)
	t.Logf("froze leader member %d (pid %d)", leader.Index, pid)

	start := time.Now()
	var answers []string
	for i := 0; ; i++ {
		id, code, body := raw.createNetwork("demo", fmt.Sprintf("during-%d", i), "")
		if id != "" {
			acked = append(acked, id)
			t.Logf("first write through the new leader after %s (%d refused before: %v)",
				time.Since(start).Round(10*time.Millisecond), len(answers), answers)
			break
		}
		answers = append(answers, fmt.Sprint(code))
		if time.Since(start) > 90*time.Second {
			t.Fatalf("no write succeeded within 90s of freezing the leader (the agent is wedged); last: %d %s\n%s",
				code, body, p.logText())
		}
		time.Sleep(200 * time.Millisecond)
	}
	for i := range 3 {
		id, code, body := raw.createNetwork("demo", fmt.Sprintf("after-%d", i), "")
		if id == "" {
			t.Fatalf("create after the failover: %d %s", code, body)
		}
		acked = append(acked, id)
	}

	thaw()
	leader.WaitMember()
	id, code, body := raw.createNetwork("demo", "after-thaw", "")
	if id == "" {
		t.Fatalf("create after the old leader thawed: %d %s", code, body)
	}
	acked = append(acked, id)
	assertNetworksExist(t, c, "demo", acked)
	if !p.alive() {
		t.Fatal("agent exited")
	}
}

func assertNetworksExist(t *testing.T, c *client.Client, tenant string, ids []string) {
	t.Helper()
	nets, err := c.ListNetworks(ctxT(t), tenant, nil)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, n := range nets {
		have[n.ID] = true
	}
	for _, id := range ids {
		if !have[id] {
			t.Errorf("acknowledged network %s is lost", id)
		}
	}
}

// TestQuantumDBKilledUnderLoad: the Quantum DB's server killed (SIGKILL)
// while writes are in flight drops the agent's connection mid-transaction
// (where libovsdb v0.8.1 can panic). The agent lives on, reconnects once the
// server is back, and every write it acknowledged is there.
func TestQuantumDBKilledUnderLoad(t *testing.T) {
	s := newSandbox(t)
	p := s.start(t)
	c := client.New(s.socket, client.WithTimeout(30*time.Second))
	raw := newRawAPI(s.socket)
	netID, code, body := raw.createNetwork("load", "load", "")
	if netID == "" {
		t.Fatalf("create network: %d %s", code, body)
	}

	var (
		mu    sync.Mutex
		acked []string
		codes = map[int]int{}
		stop  = make(chan struct{})
		wg    sync.WaitGroup
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				id, code, _ := raw.createPort("load", netID, "")
				mu.Lock()
				codes[code]++
				if id != "" {
					acked = append(acked, id)
				}
				mu.Unlock()
			}
		}()
	}
	time.Sleep(time.Second)
	for round := range 3 {
		pid := readPID(t, filepath.Join(s.qdb.Dir, "db.pid"))
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitPIDGone(t, pid)
		time.Sleep(500 * time.Millisecond)
		s.qdb.Start()
		t.Logf("round %d: Quantum DB killed and started again", round)
		time.Sleep(1500 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	t.Logf("answers during the kills, by status: %v (%d acknowledged)", codes, len(acked))
	if !p.alive() {
		t.Fatalf("agent exited:\n%s", p.logText())
	}
	waitStatus(t, c, "ready after the kills", 60*time.Second, func(st *client.AgentStatus) bool { return st.Ready })
	if id, code, body := raw.createPort("load", netID, ""); id == "" {
		t.Fatalf("create after the kills: %d %s", code, body)
	}
	ports, err := c.ListPorts(ctxT(t), "load", netID, nil)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, p := range ports {
		have[p.ID] = true
	}
	for _, id := range acked {
		if !have[id] {
			t.Errorf("acknowledged port %s is lost", id)
		}
	}
	// Any panic that reached a handler (the old failure: committed writes
	// answered 500) fails the test; one the guard caught below the store is
	// only logged here.
	for _, line := range strings.Split(p.logText(), "\n") {
		switch {
		case strings.Contains(line, "recovered a panic"):
			t.Logf("guarded panic: %s", line)
		case strings.Contains(line, "panic"):
			t.Fatalf("panic outside the guard in the agent's log: %s", line)
		}
	}
}

func waitPIDGone(t *testing.T, pid int) {
	t.Helper()
	for range 100 {
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("pid %d still there", pid)
}

// TestStalledOVSDBNoticed: the hypervisor's Open_vSwitch database stopping
// (SIGSTOP) is noticed the same way: the agent reports not ready, naming
// that database, and is ready again once it answers, with the wiring as it
// was.
func TestStalledOVSDBNoticed(t *testing.T) {
	s := newSandbox(t)
	p := s.start(t)
	c := client.New(s.socket, client.WithTimeout(20*time.Second))
	waitStatus(t, c, "ready", 60*time.Second, func(st *client.AgentStatus) bool { return st.Ready })
	resume := freeze(t, readPID(t, filepath.Join(s.hv.Dir, "ovsdb.pid")))
	waitStatus(t, c, "not ready with the Open_vSwitch DB stalled", 30*time.Second, func(st *client.AgentStatus) bool {
		return !st.Ready && strings.Contains(st.Reason, "Open_vSwitch database") && strings.Contains(st.Reason, "probe")
	})
	resume()
	waitStatus(t, c, "ready again", 60*time.Second, func(st *client.AgentStatus) bool { return st.Ready })
	if !p.alive() {
		t.Fatal("agent exited")
	}
}
