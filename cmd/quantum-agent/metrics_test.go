package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/prometheus/common/expfmt"

	"github.com/quantum-agent/quantum-agent/agent/agenttest"
	"github.com/quantum-agent/quantum-agent/api"
)

// scrape builds the daemon's registry on an in-process Quantum DB, moves
// every metric once, and returns the families and the text exposition.
func scrape(t *testing.T) (*prometheus.Registry, string) {
	t.Helper()
	cfg, err := parseConfig([]string{"--host", "hv-test"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	d, err := newDaemon(cfg, nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ag := agenttest.New(t, agenttest.DefaultConfig())
	reg, am, apim := d.newMetrics(ag, nil)
	h := api.NewHandler(ag, nil, api.WithMetrics(apim))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/v1.1/tenants/t/networks", nil))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, db := range []string{"quantum", "open_vswitch"} {
		am.WatchConnection(ctx, db, func() bool { return true }, time.Hour, nil)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	return reg, buf.String()
}

// TestMetricsLint runs promlint on everything the daemon exposes, and
// `promtool check metrics` when promtool is installed (CI installs it).
func TestMetricsLint(t *testing.T) {
	_, text := scrape(t)
	problems, err := promlint.New(strings.NewReader(text)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	for _, want := range []string{`quantum_agent_build_info{datapath="ovs",goversion="go`, "quantum_agent_networks 0",
		`quantum_agent_ovsdb_connected{database="open_vswitch"} 1`, "process_start_time_seconds", "go_goroutines"} {
		if !strings.Contains(text, want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Error("promtool not installed (CI installs the prometheus package)")
		}
		t.Skip("promtool not installed: promlint only")
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestDashboardAndDocsNameRealMetrics keeps packaging/grafana-dashboard.json
// and docs/operations.md in step with the metrics: every quantum_agent_*
// name they use exists, and the docs list every one.
func TestDashboardAndDocsNameRealMetrics(t *testing.T) {
	reg, _ := scrape(t)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	var ours []string
	for _, mf := range mfs {
		n := mf.GetName()
		known[n] = true
		for _, suffix := range []string{"_bucket", "_count", "_sum"} {
			known[n+suffix] = true
		}
		if strings.HasPrefix(n, "quantum_agent_") {
			ours = append(ours, n)
		}
	}
	sort.Strings(ours)
	name := regexp.MustCompile(`\bquantum_agent_[a-z_]+`)

	raw, err := os.ReadFile("../../packaging/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard is not valid JSON: %v", err)
	}
	used := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, n := range name.FindAllString(tg.Expr, -1) {
				used++
				if !known[n] {
					t.Errorf("dashboard panel %q uses %s, which the agent does not expose", p.Title, n)
				}
			}
		}
	}
	if used == 0 {
		t.Error("the dashboard uses no quantum_agent_ metric")
	}

	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range name.FindAllString(string(doc), -1) {
		if !known[n] {
			t.Errorf("docs/operations.md names %s, which the agent does not expose", n)
		}
	}
	for _, n := range ours {
		if !strings.Contains(string(doc), "`"+n+"`") {
			t.Errorf("docs/operations.md does not list %s", n)
		}
	}
}
