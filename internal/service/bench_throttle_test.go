package service_test

import (
	"context"
	"testing"

	"github.com/keyhole/keyhole/internal/keyholetest"
)

// BenchmarkVerifyTokenFrom is BenchmarkVerifyToken for a request from an
// address, as the Platform API verifies: the same lookup, with an attempt
// of the address's budget of unknown tokens reserved before it and given
// back after. The difference between the two is what the budget costs.
func BenchmarkVerifyTokenFrom(b *testing.B) {
	for _, be := range keyholetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			ts := keyholetest.NewServer(b, keyholetest.Options{Store: be.Open(b)})
			ts.CreateAccount(b, "ada@example.com", "correct horse battery")
			tok := ts.Login(b, "ada@example.com", "correct horse battery")
			ctx := context.Background()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := ts.Service.VerifyTokenFrom(ctx, tok, "192.0.2.1"); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
