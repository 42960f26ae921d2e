package main

// The man page and the completion scripts are generated from the command
// tree; TestGeneratedFiles checks the committed ones and, with -update,
// writes them.
//go:generate go test -run ^TestGeneratedFiles$ -update .
