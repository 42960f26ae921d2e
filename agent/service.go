package agent

import "context"

// Service is the API-facing surface of the agent: every operation of docs/api.md,
// tenant-scoped. A network of another tenant is reported as not found. Every
// write returns only once it is durable in the Quantum DB.
//
// It is the one interface of that surface: api's handlers call it, the
// agent implements it (checked at compile time in agent.go), and test
// fakes of other packages implement it without importing api. It lives
// here, beside the types it speaks, because every user already imports
// agent, while a copy in api would be a second name for one contract.
type Service interface {
	ListNetworks(ctx context.Context, tenant string, withPorts bool) ([]Network, error)
	GetNetwork(ctx context.Context, tenant, netID string, withPorts bool) (Network, error)
	CreateNetwork(ctx context.Context, tenant string, spec NetworkSpec) (Network, error)
	RenameNetwork(ctx context.Context, tenant, netID, name string) error
	DeleteNetwork(ctx context.Context, tenant, netID string) error

	ListPorts(ctx context.Context, tenant, netID string) ([]Port, error)
	GetPort(ctx context.Context, tenant, netID, portID string) (Port, error)
	CreatePort(ctx context.Context, tenant, netID, state string) (Port, error)
	SetPortState(ctx context.Context, tenant, netID, portID, state string) error
	DeletePort(ctx context.Context, tenant, netID, portID string) error

	// GetAttachment returns nil, nil when the port has no attachment.
	GetAttachment(ctx context.Context, tenant, netID, portID string) (*Attachment, error)
	Plug(ctx context.Context, tenant, netID, portID string, spec AttachmentSpec) error
	// Unplug is a no-op when the port holds nothing.
	Unplug(ctx context.Context, tenant, netID, portID string) error
	ListAttachments(ctx context.Context, tenant, netID string) ([]Attachment, error)
	// PlugIntoNetwork plugs into a free ACTIVE port of the network, or a new
	// ACTIVE port, and returns that port.
	PlugIntoNetwork(ctx context.Context, tenant, netID string, spec AttachmentSpec) (Port, error)
	// WaitAttachment returns once the port's attachment has the status (or
	// FAILED, which no wait outlasts), or when ctx ends; then it returns
	// the attachment as it is (the wait extension).
	WaitAttachment(ctx context.Context, tenant, netID, portID, status string) (*Attachment, error)
}
