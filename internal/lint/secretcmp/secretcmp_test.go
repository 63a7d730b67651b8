package secretcmp_test

import (
	"slices"
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"

	"github.com/keyhole/keyhole/internal/lint/secretcmp"
)

// TestAnalyzer runs the pass on testdata/src/example.com/keyhole/a: every planted
// variable-time comparison of a secret is reported (the want comments),
// and nothing else is.
func TestAnalyzer(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), secretcmp.Analyzer, "example.com/keyhole/a")
}

func TestWords(t *testing.T) {
	for name, want := range map[string][]string{
		"CSRFToken":     {"csrf", "token"},
		"csrfToken":     {"csrf", "token"},
		"SecretHash":    {"secret", "hash"},
		"secret_hash":   {"secret", "hash"},
		"userCode":      {"user", "code"},
		"CodeChallenge": {"code", "challenge"},
		"S256":          {"s"},
		"ID":            {"id"},
		"redirectURI":   {"redirect", "uri"},
	} {
		if got := secretcmp.SplitWords(name); !slices.Equal(got, want) {
			t.Errorf("words(%q) = %q, want %q", name, got, want)
		}
	}
}
