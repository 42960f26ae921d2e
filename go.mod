module github.com/quantum-agent/quantum-agent

go 1.26.8

require (
	github.com/coreos/go-systemd/v22 v22.7.0 // indirect
	github.com/go-logr/logr v1.4.4 // indirect
	github.com/ovn-kubernetes/libovsdb v0.8.1 // indirect
	github.com/prometheus/client_golang v1.23.2 // indirect
	github.com/vishvananda/netlink v1.3.1 // indirect
	github.com/vishvananda/netns v0.0.5 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.28.0 // indirect
)

tool github.com/ovn-kubernetes/libovsdb/cmd/modelgen
