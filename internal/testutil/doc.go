// Package testutil is for tests only: the small helpers every kind of test
// here needs (a short directory for a unix socket, polling until a condition
// holds, a log buffer safe to read while something writes it). It runs no
// commands and needs no privilege, so unit tests may import it; production
// code must not.
package testutil
