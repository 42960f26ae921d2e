package api

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/quantum-agent/quantum-agent/agent"
)

// TestFilters: networks a (port ACTIVE with vif-1, port DOWN), b (port
// DOWN), c (no ports, same name as a).
func TestFilters(t *testing.T) {
	ctx := t.Context()
	b := newBackend(t)
	mk := func(name string) string {
		n, err := b.CreateNetwork(ctx, "t", agent.NetworkSpec{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		return n.ID
	}
	netA, netB, netC := mk("a"), mk("b"), mk("a")
	pa1, _ := b.CreatePort(ctx, "t", netA, agent.PortActive)
	pa2, _ := b.CreatePort(ctx, "t", netA, agent.PortDown)
	pb, _ := b.CreatePort(ctx, "t", netB, agent.PortDown)
	if err := b.Plug(ctx, "t", netA, pa1.ID, agent.AttachmentSpec{ID: "vif-1"}); err != nil {
		t.Fatal(err)
	}
	h := testHandler(t, b)

	for _, ver := range []string{v10, v11} {
		for _, tc := range []struct {
			query string
			want  []string // nil: expect 400
		}{
			{"", []string{netA, netB, netC}},
			{"name=a", []string{netA, netC}},
			{"name=a&name=b", []string{}},
			{"name=a&has-attachment=true", []string{netA}},
			{"has-attachment=TRUE", []string{netA}},
			{"has-attachment=False", []string{netB, netC}},
			{"has-attachment=maybe", nil},
			{"port-state=DOWN", []string{netA, netB}},
			{"port-state=ACTIVE", []string{netA}},
			{"port-op-status=PROVISIONING", []string{netA}},
			{"port-op-status=DOWN", []string{netA, netB}},
			{"op-status=UP", []string{netA, netB, netC}},
			{"attachment=vif-1", []string{netA}},
			{"attachment=vif-2", []string{}},
			{"port=" + pb.ID, []string{netB}},
			{"port=" + pb.ID + "&name=a", []string{}},
			{"bogus=1", nil},
			{"name=a&fields=id", nil},
		} {
			for _, path := range []string{"/networks", "/networks/detail"} {
				t.Run(ver+path+"?"+tc.query, func(t *testing.T) {
					r := do(t, h, "GET", "/"+ver+"/tenants/t"+path+"?"+tc.query, "")
					checkFiltered(t, r, "networks", tc.want, tc.query)
				})
			}
		}
	}

	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"state=ACTIVE", []string{pa1.ID}},
		{"state=active", []string{}}, // exact match
		{"op-status=DOWN", []string{pa2.ID}},
		{"has-attachment=true", []string{pa1.ID}},
		{"has-attachment=false", []string{pa2.ID}},
		{"has-attachment=", nil},
		{"attachment=vif-1", []string{pa1.ID}},
		{"attachment=vif-1&state=DOWN", []string{}},
		{"port-state=DOWN", nil}, // a network filter, not a port one
		{"name=x", nil},
	} {
		for _, path := range []string{"/ports", "/ports/detail"} {
			t.Run("ports"+path+"?"+tc.query, func(t *testing.T) {
				r := do(t, h, "GET", "/v1.1/tenants/t/networks/"+netA+path+"?"+tc.query, "")
				checkFiltered(t, r, "ports", tc.want, tc.query)
			})
		}
	}
}

func checkFiltered(t *testing.T, r response, key string, want []string, query string) {
	t.Helper()
	if want == nil {
		expect(t, r, 400)
		q, _ := url.ParseQuery(query)
		for k := range q {
			if k != "name" && !strings.Contains(r.raw, k) {
				t.Errorf("400 does not name %q: %s", k, r.raw)
			}
		}
		return
	}
	expect(t, r, 200)
	got := r.ids(key)
	if got == nil {
		got = []string{}
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
