package main

import (
	"os"
	"testing"
)

// TestMain lets the test binary stand in for quantumctl (the completion
// scripts call "quantumctl __complete ..." back).
func TestMain(m *testing.M) {
	if os.Getenv("QUANTUMCTL_TEST_AS_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}
