// Package qdb holds the Quantum DB schema (quantum.ovsschema) and the Go models
// libovsdb's modelgen generates from it. Nothing here is written by hand but
// this file: run `go generate ./...` after changing the schema.
package qdb

//go:generate go tool modelgen -extended -p qdb -o . quantum.ovsschema
