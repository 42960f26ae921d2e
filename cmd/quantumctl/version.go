package main

// version is set at build time to the package version, as quantum-agent's:
// -ldflags "-X main.version=1.2.3-1" (the Makefile and packaging/build-deb.sh).
var version = "0.0.0-dev"

// wantsVersion reports whether the command line asks for the version alone,
// the way every other program is asked: quantumctl --version (or -version).
func wantsVersion(args []string) bool {
	return len(args) == 1 && (args[0] == "--version" || args[0] == "-version")
}
