package client_test

import (
	"context"
	"errors"
	"testing"

	"github.com/quantum-agent/quantum-agent/api/client"
	"github.com/quantum-agent/quantum-agent/internal/testfake"
)

var allKinds = []client.FaultKind{
	client.ErrMalformed, client.ErrUnauthorized, client.ErrNetworkNotFound, client.ErrNetworkInUse,
	client.ErrPortNotFound, client.ErrStateInvalid, client.ErrPortInUse, client.ErrAlreadyAttached,
	client.ErrOverLimit, client.ErrUnavailable, client.ErrPluginFault, client.ErrNotFound,
	client.ErrMethodNotAllowed, client.ErrConflict, client.ErrIdempotencyKeyReused, client.ErrInternal,
}

// TestFaults feeds both versions' fault bodies (JSON and XML) through a real
// call and checks the error matches exactly one sentinel.
func TestFaults(t *testing.T) {
	tests := []struct {
		name     string
		version  client.APIVersion
		reply    testfake.Reply
		want     client.FaultKind
		wantType string
		detail   string
	}{
		{"v1.0 networkNotFound", client.V10,
			testfake.Reply{Status: 420, Body: `{"networkNotFound":{"code":420,"message":"Unable to find a network with the specified identifier.","detail":"Network n1 could not be found"}}`},
			client.ErrNetworkNotFound, "networkNotFound", "Network n1 could not be found"},
		{"v1.1 NetworkNotFound", client.V11,
			testfake.Reply{Status: 404, Body: `{"QuantumError":{"type":"NetworkNotFound","message":"Unable to find a network with the specified identifier.","detail":"Network n1 could not be found"}}`},
			client.ErrNetworkNotFound, "NetworkNotFound", "Network n1 could not be found"},
		{"v1.0 networkInUse", client.V10,
			testfake.Reply{Status: 421, Body: `{"networkInUse":{"code":421,"message":"Unable to remove the network: attachments still plugged.","detail":"d"}}`},
			client.ErrNetworkInUse, "networkInUse", "d"},
		{"v1.1 NetworkInUse", client.V11,
			testfake.Reply{Status: 409, Body: `{"QuantumError":{"type":"NetworkInUse","message":"m","detail":"d"}}`},
			client.ErrNetworkInUse, "NetworkInUse", "d"},
		{"v1.0 portNotFound", client.V10,
			testfake.Reply{Status: 430, Body: `{"portNotFound":{"code":430,"message":"m","detail":"Port p1 could not be found on network n1"}}`},
			client.ErrPortNotFound, "portNotFound", "Port p1 could not be found on network n1"},
		{"v1.1 PortNotFound", client.V11,
			testfake.Reply{Status: 404, Body: `{"QuantumError":{"type":"PortNotFound","message":"m","detail":"d"}}`},
			client.ErrPortNotFound, "PortNotFound", "d"},
		{"v1.0 requestedStateInvalid", client.V10,
			testfake.Reply{Status: 431, Body: `{"requestedStateInvalid":{"code":431,"message":"Unable to update port state with specified value.","detail":"d"}}`},
			client.ErrStateInvalid, "requestedStateInvalid", "d"},
		{"v1.1 RequestedStateInvalid", client.V11,
			testfake.Reply{Status: 400, Body: `{"QuantumError":{"type":"RequestedStateInvalid","message":"m","detail":"d"}}`},
			client.ErrStateInvalid, "RequestedStateInvalid", "d"},
		{"v1.0 portInUse", client.V10,
			testfake.Reply{Status: 432, Body: `{"portInUse":{"code":432,"message":"A resource is currently attached to the logical port","detail":"d"}}`},
			client.ErrPortInUse, "portInUse", "d"},
		{"v1.1 PortInUse", client.V11,
			testfake.Reply{Status: 409, Body: `{"QuantumError":{"type":"PortInUse","message":"m","detail":"d"}}`},
			client.ErrPortInUse, "PortInUse", "d"},
		{"v1.0 alreadyAttached", client.V10,
			testfake.Reply{Status: 440, Body: `{"alreadyAttached":{"code":440,"message":"The resource is already attached to another port","detail":"The attachment vif-1 is already plugged into port p1"}}`},
			client.ErrAlreadyAttached, "alreadyAttached", "The attachment vif-1 is already plugged into port p1"},
		{"v1.1 AlreadyAttached", client.V11,
			testfake.Reply{Status: 409, Body: `{"QuantumError":{"type":"AlreadyAttached","message":"m","detail":"d"}}`},
			client.ErrAlreadyAttached, "AlreadyAttached", "d"},
		{"v1.0 malformedRequest", client.V10,
			testfake.Reply{Status: 400, Body: `{"malformedRequest":{"code":400,"message":"m","detail":"unknown key \"foo\""}}`},
			client.ErrMalformed, "malformedRequest", `unknown key "foo"`},
		{"v1.1 MalformedRequest", client.V11,
			testfake.Reply{Status: 400, Body: `{"QuantumError":{"type":"MalformedRequest","message":"m","detail":"d"}}`},
			client.ErrMalformed, "MalformedRequest", "d"},
		{"v1.0 overLimit", client.V10,
			testfake.Reply{Status: 413, Body: `{"overLimit":{"code":413,"message":"m","detail":"request body larger than 1 MiB"}}`},
			client.ErrOverLimit, "overLimit", "request body larger than 1 MiB"},
		{"v1.1 OverLimit", client.V11,
			testfake.Reply{Status: 413, Body: `{"QuantumError":{"type":"OverLimit","message":"m","detail":"d"}}`},
			client.ErrOverLimit, "OverLimit", "d"},
		{"v1.0 serviceUnavailable", client.V10,
			testfake.Reply{Status: 470, Body: `{"serviceUnavailable":{"code":470,"message":"m","detail":"d"}}`},
			client.ErrUnavailable, "serviceUnavailable", "d"},
		{"v1.1 ServiceUnavailable", client.V11,
			testfake.Reply{Status: 503, Body: `{"QuantumError":{"type":"ServiceUnavailable","message":"m","detail":"d"}}`},
			client.ErrUnavailable, "ServiceUnavailable", "d"},
		{"v1.0 pluginFault", client.V10,
			testfake.Reply{Status: 471, Body: `{"pluginFault":{"code":471,"message":"m","detail":"d"}}`},
			client.ErrPluginFault, "pluginFault", "d"},
		{"v1.1 PluginFault", client.V11,
			testfake.Reply{Status: 500, Body: `{"QuantumError":{"type":"PluginFault","message":"m","detail":"d"}}`},
			client.ErrPluginFault, "PluginFault", "d"},
		{"v1.1 Unauthorized", client.V11,
			testfake.Reply{Status: 401, Body: `{"QuantumError":{"type":"Unauthorized","message":"m","detail":"d"}}`},
			client.ErrUnauthorized, "Unauthorized", "d"},
		{"v1.1 MethodNotAllowed", client.V11,
			testfake.Reply{Status: 405, Body: `{"QuantumError":{"type":"MethodNotAllowed","message":"m","detail":"d"}}`},
			client.ErrMethodNotAllowed, "MethodNotAllowed", "d"},
		{"v1.0 unnamed 404 falls back on status", client.V10,
			testfake.Reply{Status: 404, Body: `{"resourceNotFound":{"code":404,"message":"The resource could not be found.","detail":"d"}}`},
			client.ErrNotFound, "resourceNotFound", "d"},
		{"v1.0 XML", client.V10,
			testfake.Reply{Status: 420, Body: `<networkNotFound code="420" xmlns="http://openstack.org/quantum/api/v1.0"><message>m</message><detail>Network n1 could not be found</detail></networkNotFound>`, ContentType: "application/xml"},
			client.ErrNetworkNotFound, "networkNotFound", "Network n1 could not be found"},
		{"v1.1 XML", client.V11,
			testfake.Reply{Status: 409, Body: `<QuantumError xmlns="http://openstack.org/quantum/api/v1.1"><type>PortInUse</type><message>m</message><detail>d</detail></QuantumError>`, ContentType: "application/xml"},
			client.ErrPortInUse, "PortInUse", "d"},
		{"unparsable body", client.V11,
			testfake.Reply{Status: 503, Body: `<html>bad gateway</html>`, ContentType: "text/html"},
			client.ErrUnavailable, "", "<html>bad gateway</html>"},
		{"v1.0 code without body", client.V10,
			testfake.Reply{Status: 432, Body: ``},
			client.ErrPortInUse, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "/" + string(tt.version) + "/tenants/t1/networks/n1"
			f := testfake.NewAgent(t, map[string]testfake.Reply{"DELETE " + path: tt.reply})
			// One try: the 503s would otherwise be retried (retry_test.go).
			c := client.New(f.Socket, client.WithAPIVersion(tt.version), client.WithRetry(client.RetryPolicy{Attempts: 1}))
			err := c.DeleteNetwork(context.Background(), "t1", "n1")
			var fault *client.Fault
			if !errors.As(err, &fault) {
				t.Fatalf("err = %T %v, want *client.Fault", err, err)
			}
			if fault.HTTPStatus != tt.reply.Status || fault.Type != tt.wantType || fault.Detail != tt.detail {
				t.Errorf("fault = %+v, want status %d type %q detail %q", fault, tt.reply.Status, tt.wantType, tt.detail)
			}
			for _, k := range allKinds {
				if got := errors.Is(err, k); got != (k == tt.want) {
					t.Errorf("errors.Is(err, %s) = %v", k, got)
				}
			}
		})
	}
}

func TestFaultError(t *testing.T) {
	f := &client.Fault{HTTPStatus: 404, Type: "NetworkNotFound", Message: "Unable to find a network with the specified identifier.", Detail: "Network n1 could not be found"}
	if got, want := f.Error(), "NetworkNotFound (HTTP 404): Network n1 could not be found"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	f.Detail = ""
	if got, want := f.Error(), "NetworkNotFound (HTTP 404): Unable to find a network with the specified identifier."; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if errors.Is(f, errors.New("NetworkNotFound")) {
		t.Error("a Fault matched an unrelated error")
	}
}
