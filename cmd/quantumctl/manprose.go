package main

// The hand-written parts of quantumctl(1) (see manpage.go): man(7) macros.

const manHead = `.\" Man page of quantumctl(1), generated from the commands: edit cmd/quantumctl
.\" (manprose.go for the prose) and run 'make man', not this file.
.\" Preview: man -l docs/man/quantumctl.1
.TH QUANTUMCTL 1 "" "quantum-agent" "User Commands"
.nh
.ad l
.SH NAME
quantumctl \- command-line client of quantum-agent
.SH SYNOPSIS
.B quantumctl
.RI [ "global options" ]
.I command
.RI [ arguments ]
.RI [ options ]
.br
.B quantumctl help
.RI [ command ]
.br
.B quantumctl \-\-version
.SH DESCRIPTION
.B quantumctl
talks to
.BR quantum-agent (8)
over its Unix socket with the OpenStack Quantum API: it manages a tenant's
networks, their ports, and what is plugged into them.
Options may come before or after the command and its arguments;
.B \-\-
ends them.
Using the socket takes membership in its group
.RB ( quantum
when the agent runs under systemd).
.PP
For scripts, creates print the new id alone with
.BR \-q ,
.B \-o json
prints the API's own JSON, and the exit status tells a fault from a usage
error (see
.BR "EXIT STATUS" ).
`

// manVersion is --version among the global options: main answers it
// before the command tree is built (version.go), so it is not a flag of
// the tree that manFlags lists.
const manVersion = `.TP
.B "\-\-version"
Print quantumctl's version and exit; given alone, as
.BR "quantumctl \-\-version" .
`

// commandNotes are man-only sentences after a command's summary.
func commandNotes() map[string]string {
	return map[string]string{
		"net-create": "Without provider options the agent picks a VLAN from its pools.\n",
		"plug": `A wait ends when the attachment has the status, is FAILED, or at
.BR \-\-wait\-timeout ;
quantumctl prints the attachment and exits 1 unless it has the status.
`,
		"help": `.B help help
explains help; every command also takes
.BR \-h ", " \-\-help .
`,
		"completion": `The package installs them as
.IR /usr/share/bash\-completion/completions/quantumctl ,
.I /usr/share/zsh/vendor\-completions/_quantumctl
and
.IR /usr/share/fish/vendor_completions.d/quantumctl.fish .
`,
	}
}

const manTail = `.SH RETRIES
When the agent answers 503 (v1.0: 470) serviceUnavailable \(em its
database did not answer, e.g. while it restarts \(em or the connection
breaks after a request was sent, quantumctl tries the request again, up to
5 times in all with growing pauses (about 9 seconds of waiting at most).
Reads, renames, state changes and deletes are safe to repeat as they are.
Creates and plugs
.RB ( net\-create ,
.BR port\-create ,
.BR plug ,
.BR net\-plug )
carry an
.B Idempotency\-Key
header, the same on every try, so the agent answers a repeat with the first
try's outcome instead of creating or plugging twice.
.PP
Each run uses a fresh key unless
.BI \-\-idempotency\-key " key"
names one. A script that must be able to re-run a whole command safely gives
it a key of its own (any unique text, e.g. a UUID) and re-runs with the same
key; when the outcome stays unknown after the retries, the error message
names the key to re-run with. Reusing a key for a different request fails with
422 idempotencyKeyReused. A delete retried after an unseen success reports
not found.
.SH ENVIRONMENT
.TP
.B QUANTUM_SOCKET
Default of
.BR \-\-socket .
.TP
.B QUANTUM_TENANT
Default of
.BR \-\-tenant .
.SH EXIT STATUS
.TP
0
Success.
.TP
1
The agent reported a fault or could not be reached, a
.B \-\-wait
ended without its status, or
.B status
found the agent not ready.
.TP
2
Usage error: an unknown command or option, a bad value, or the wrong number
of arguments.
.SH EXAMPLES
.nf
export QUANTUM_TENANT=demo
NET=$(quantumctl net\-create \-q net1)
PORT=$(quantumctl port\-create \-q $NET \-\-state ACTIVE)
quantumctl plug $NET $PORT vif\-1 \-\-device tap1 \-\-wait UP
quantumctl attachment\-show $NET $PORT \-\-wait UP \-\-wait\-timeout 10s
quantumctl \-o json net\-show $NET
.fi
.SH SEE ALSO
.BR quantum\-agent (8)
`
