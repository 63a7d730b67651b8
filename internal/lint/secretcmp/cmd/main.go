// Command secretcmp runs the secretcmp pass (internal/lint/secretcmp):
//
//	go run ./internal/lint/secretcmp/cmd -test=false ./...
//
// It exits 3 when it reports a secret compared in variable time.
package main

import (
	"golang.org/x/tools/go/analysis/singlechecker"

	"github.com/keyhole/keyhole/internal/lint/secretcmp"
)

func main() { singlechecker.Main(secretcmp.Analyzer) }
