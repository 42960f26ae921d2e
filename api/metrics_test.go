package api

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

// TestMetricsLabelRoutesNotPaths checks that requests are counted by route
// pattern (ids never become label values), that unknown paths share one
// label, and that the metrics pass promlint.
func TestMetricsLabelRoutesNotPaths(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := NewMetrics(reg)
	h := testHandler(t, newBackend(t), WithMetrics(m), WithStatus(func() Status { return Status{Version: "test"} }))

	r := do(t, h, "POST", "/v1.1/tenants/t1/networks.json", `{"network":{"name":"n1"}}`)
	if r.code != 202 {
		t.Fatalf("create network: %d %s", r.code, r.raw)
	}
	id := r.body["network"].(map[string]any)["id"].(string)
	do(t, h, "GET", "/v1.1/tenants/t1/networks/"+id+".json", "")
	do(t, h, "GET", "/v1.0/tenants/t1/networks/"+id+".xml", "")
	do(t, h, "GET", "/v1.1/tenants/t1/networks/00000000-0000-0000-0000-000000000000", "")
	do(t, h, "GET", "/no/such/thing", "")
	do(t, h, "GET", "//v1.1/tenants/t1/networks", "") // not canonical: no route reached
	do(t, h, "GET", StatusPath, "")
	do(t, h, "POST", StatusPath, "")
	do(t, h, "PATCH", "/v1.1/tenants/t1/networks", "")

	for _, c := range []struct {
		labels []string
		want   float64
	}{
		{[]string{"/v1.1/tenants/{tenant}/networks", "POST", "202"}, 1},
		{[]string{"/v1.1/tenants/{tenant}/networks/{net}", "GET", "200"}, 1},
		{[]string{"/v1.0/tenants/{tenant}/networks/{net}", "GET", "200"}, 1},
		{[]string{"/v1.1/tenants/{tenant}/networks/{net}", "GET", "404"}, 1},
		{[]string{"unknown", "GET", "404"}, 2},
		{[]string{StatusPath, "GET", "200"}, 1},
		{[]string{StatusPath, "POST", "405"}, 1},
		{[]string{"/v1.1/tenants/{tenant}/networks", "other", "405"}, 1},
	} {
		if got := testutil.ToFloat64(m.requests.WithLabelValues(c.labels...)); got != c.want {
			t.Errorf("requests%v = %v, want %v", c.labels, got, c.want)
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, met := range mf.GetMetric() {
			for _, l := range met.GetLabel() {
				if strings.Contains(l.GetValue(), id) {
					t.Errorf("%s has a label with a network id: %s", mf.GetName(), l.GetValue())
				}
			}
		}
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}
