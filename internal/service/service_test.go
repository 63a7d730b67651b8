package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/service"
)

// TestSweep checks that expired direct tokens are deleted and live ones kept.
func TestSweep(t *testing.T) {
	clk := keyholetest.NewClock(time.Now())
	ts := keyholetest.NewServer(t, keyholetest.Options{Now: clk.Now})
	ts.CreateAccount(t, "ada@example.com", "correct horse battery")
	global := ts.Login(t, "ada@example.com", "correct horse battery")
	ctx := context.Background()
	actor, err := ts.Service.VerifyToken(ctx, global)
	if err != nil {
		t.Fatal(err)
	}
	ten := 10
	short, err := ts.Service.CreateAuthorization(ctx, actor, service.AuthorizationParams{ExpiresIn: &ten})
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Minute)
	if err := ts.Service.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	tokens, err := ts.Store.Tokens(ctx, short.ID)
	if err != nil || len(tokens) != 0 {
		t.Errorf("expired token kept: %v %v", tokens, err)
	}
	if _, err := ts.Service.VerifyToken(ctx, global); err != nil {
		t.Errorf("a live token was swept: %v", err)
	}
}

// BenchmarkVerifyToken measures the service's half of every authenticated
// request: parse and checksum, SHA-256, one indexed lookup of the token with
// its authorization, and the liveness checks.
func BenchmarkVerifyToken(b *testing.B) {
	for _, be := range keyholetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			ts := keyholetest.NewServer(b, keyholetest.Options{Store: be.Open(b)})
			ts.CreateAccount(b, "ada@example.com", "correct horse battery")
			tok := ts.Login(b, "ada@example.com", "correct horse battery")
			ctx := context.Background()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := ts.Service.VerifyToken(ctx, tok); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// TestRegenerateKeepsLifetime: regenerating the tokens of an authorization
// made with expires_in keeps that lifetime, even once the token expired.
func TestRegenerateKeepsLifetime(t *testing.T) {
	clk := keyholetest.NewClock(time.Now().UTC())
	ts := keyholetest.NewServer(t, keyholetest.Options{Now: clk.Now})
	ts.CreateAccount(t, "ada@example.com", "correct horse battery")
	ctx := context.Background()
	actor, err := ts.Service.VerifyToken(ctx, ts.Login(t, "ada@example.com", "correct horse battery"))
	if err != nil {
		t.Fatal(err)
	}
	hour := 3600
	a, err := ts.Service.CreateAuthorization(ctx, actor, service.AuthorizationParams{ExpiresIn: &hour})
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(2 * time.Hour)
	info, err := ts.Service.RegenerateTokens(ctx, actor, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Access.ExpiresAt.Sub(info.Access.CreatedAt); got != time.Hour {
		t.Errorf("regenerated token lives %v, want 1h", got)
	}
	if _, err := ts.Service.VerifyToken(ctx, info.Access.Value.Reveal()); err != nil {
		t.Errorf("regenerated token: %v", err)
	}
}
