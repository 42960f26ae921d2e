// Package qdb holds the Quantum DB schema (quantum.ovsschema) and the Go models
// libovsdb's modelgen generates from it. Nothing here is written by hand but
// this file: run `go generate ./...` after changing the schema.
package qdb

// modelgen writes its "generated" header on two lines, which go/ast.IsGenerated
// does not recognise; genheader rewrites it into the standard one-line form.
//go:generate go tool modelgen -extended -p qdb -o . quantum.ovsschema
//go:generate go run github.com/quantum-agent/quantum-agent/internal/genheader .
