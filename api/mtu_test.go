package api

import (
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/quantum-agent/quantum-agent/agent/agenttest"
)

// TestNetworkMTU: the provider extension's mtu is shown wherever the other
// provider attributes are (show, show-detail, list-detail; not the id-only
// list), computed from the agent's underlay MTU and the network type, on
// both versions and in both formats; a body carrying it changes nothing
// (an unknown key, ignored and counted, like the provider attributes in an
// update).
func TestNetworkMTU(t *testing.T) {
	for _, ver := range []string{v10, v11} {
		for _, f := range []format{formatJSON, formatXML} {
			t.Run(ver+"/"+formatName(f), func(t *testing.T) {
				cfg := agenttest.DefaultConfig()
				cfg.UnderlayMTU = 9000
				m := NewMetrics(prometheus.NewPedanticRegistry())
				c := tclient{t: t, h: testHandler(t, agenttest.New(t, cfg), WithMetrics(m)), ver: ver, f: f, tenant: "demo"}
				vxlan := c.mustCreate("/networks", reqBody(f, "network", map[string]any{
					"name": "overlay", "network-type": "vxlan", "segmentation-id": 5000, "mtu": 1234}), "network")
				vlan := c.mustCreate("/networks", reqBody(f, "network", map[string]any{"name": "allocated", "mtu": 1}), "network")
				want := map[string]string{vxlan: "8950", vlan: "9000"}

				for id, mtu := range want {
					eq(t, "show mtu", expect(t, c.do("GET", "/networks/"+id, ""), 200).str("network.mtu"), mtu)
					eq(t, "show-detail mtu", expect(t, c.do("GET", "/networks/"+id+"/detail", ""), 200).str("network.mtu"), mtu)
				}
				r := expect(t, c.do("GET", "/networks/detail", ""), 200)
				for i := range r.len("networks") {
					item := "networks." + strconv.Itoa(i)
					eq(t, "list-detail mtu of "+r.str(item+".name"), r.str(item+".mtu"), want[r.str(item+".id")])
				}
				eq(t, "id-only list shows no mtu", expect(t, c.do("GET", "/networks", ""), 200).has("networks.0.mtu"), false)

				expect(t, c.do("PUT", "/networks/"+vxlan, reqBody(f, "network", map[string]any{"name": "renamed", "mtu": 1400})), 204)
				r = expect(t, c.do("GET", "/networks/"+vxlan, ""), 200)
				eq(t, "renamed", r.str("network.name"), "renamed")
				eq(t, "mtu after an update carrying one", r.str("network.mtu"), "8950")
				eq(t, "ignored network keys", testutil.ToFloat64(m.ignoredKeys.WithLabelValues("network")), 3)
			})
		}
	}
}
