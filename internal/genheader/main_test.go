package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestRewriteDir: modelgen's header becomes the standard one, a second run
// changes nothing, and a file without modelgen's header is left alone.
func TestRewriteDir(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "model.go")
	hand := filepath.Join(dir, "gen.go")
	const body = "\npackage x\n"
	const handSrc = "// Package x is written by hand.\npackage x\n"
	if err := os.WriteFile(model, []byte(modelgenHeader+body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hand, []byte(handSrc), 0o644); err != nil {
		t.Fatal(err)
	}
	for run := 1; run <= 2; run++ {
		if err := rewriteDir(dir); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(model); string(got) != standardHeader+body {
			t.Errorf("run %d: model.go = %q", run, got)
		}
		if got, _ := os.ReadFile(hand); string(got) != handSrc {
			t.Errorf("run %d: gen.go = %q", run, got)
		}
	}
}
