package service_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/keyhole/keyhole/internal/keyholetest"
)

// TestSigningKeysAfterServerKeyChange: a server started with another
// server key than the one that sealed the signing keys still serves the
// key set (without the keys it cannot open) and says in its log what to
// do; signing fails until admin:rotate-signing-key --lead 0 adds a key
// sealed under the new server key, which then signs at once.
func TestSigningKeysAfterServerKeyChange(t *testing.T) {
	for _, be := range keyholetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			ctx := context.Background()
			st := be.Open(t)
			oldKey := make([]byte, 32)
			_, _ = rand.Read(oldKey)
			before := keyholetest.NewServer(t, keyholetest.Options{Store: st, Key: oldKey})
			if err := before.Service.EnsureSigningKey(ctx); err != nil {
				t.Fatal(err)
			}
			old := kids(t, before)
			if len(old) != 1 {
				t.Fatalf("first key set: %v", old)
			}

			var logs bytes.Buffer
			after := keyholetest.NewServer(t, keyholetest.Options{Store: st, Log: slog.New(slog.NewTextHandler(&logs, nil))})
			if err := after.Service.EnsureSigningKey(ctx); err != nil {
				t.Fatalf("start with another server key: %v", err)
			}
			if got := kids(t, after); len(got) != 0 {
				t.Errorf("key set with another server key: %v, want none", got)
			}
			if !strings.Contains(logs.String(), "admin:rotate-signing-key --lead 0") || !strings.Contains(logs.String(), old[0]) {
				t.Errorf("the log does not say what to do:\n%s", logs.String())
			}
			if _, err := after.Service.SignTestJWT(ctx); err == nil {
				t.Error("signed with no key this server key opens")
			}

			k, err := after.Service.RotateSigningKey(ctx, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got := kids(t, after); len(got) != 1 || got[0] != k.ID {
				t.Errorf("key set after the rotation: %v, want %s", got, k.ID)
			}
			if _, err := after.Service.SignTestJWT(ctx); err != nil {
				t.Errorf("sign after the rotation: %v", err)
			}
		})
	}
}

// kids lists the kid of each key the server publishes.
func kids(t *testing.T, ts *keyholetest.Server) []string {
	t.Helper()
	b, err := ts.Service.JWKS(context.Background())
	if err != nil {
		t.Fatalf("JWKS: %v", err)
	}
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.Kid)
	}
	return out
}
