package main

import (
	"fmt"
	"os"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

const usage = `hashgate — Stratum V1 proxy and power switcher for mining sites

Usage:
  hashgate run   -c FILE [--log-format json|console] [--log-level LEVEL]
  hashgate check -c FILE
  hashgate demo  [--duration D] [--miners N]
  hashgate health [--api HOST:PORT | -c FILE] [--timeout D]   exit 0 when /healthz answers 200
  hashgate version
`

func main() {
	os.Exit(dispatch(os.Args[1:]))
}

func dispatch(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return 2
	}
	switch args[0] {
	case "run":
		return cmdRun(args[1:])
	case "check":
		return cmdCheck(args[1:], os.Stdout, os.Stderr)
	case "demo":
		return cmdDemo(args[1:])
	case "health":
		return cmdHealth(args[1:], os.Stdout, os.Stderr)
	case "version", "--version", "-v":
		fmt.Printf("hashgate %s\n", version)
		return 0
	case "help", "-h", "--help":
		fmt.Print(usage)
		return 0
	}
	fmt.Fprintf(os.Stderr, "hashgate: unknown command %q\n\n%s", args[0], usage)
	return 2
}
