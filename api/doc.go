// Package api serves the Quantum network API (v1.0 and v1.1, as released,
// plus our extensions) over HTTP: routing, format negotiation, the JSON and
// XML codecs, the views, the fault table, filters, and the Unix-socket
// listener with peer-credential access logging.
//
// NewHandler is its one constructor: the options add the operator status
// endpoint and the request metrics. It knows the agent only through the
// agent.Service interface and agent's error kinds; it must not know the Quantum DB,
// libovsdb or any datapath.
package api
