package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

// fillBatch is how many tokens one AddTokens call (one transaction)
// inserts.
const fillBatch = 10_000

// fill writes n live access tokens into the client-credentials
// authorization of the client clientID, the way Keyhole's
// client_credentials grant files them (internal/service/grant.go), with
// random hashes and an expiry ten years ahead. It goes through the store
// API, not HTTP: a million tokens over HTTP would take longer than the
// benchmark. The server must not be running.
//
// To write faster, ids are time-ordered UUIDs (v7, as Keyhole's) and each
// batch is sorted by hash, so that inserts walk the indexes in order; the
// table and its indexes hold as many entries all the same (300,000 tokens
// on SQLite: 18 s instead of 32 s).
func fill(ctx context.Context, st store.Store, clientID string, n int, progress io.Writer) (time.Duration, error) {
	began := time.Now()
	now := began.UTC()
	auth := keyhole.Authorization{
		ID:       uuid.NewSHA1(uuid.NameSpaceOID, []byte("keyhole:client-credentials:"+clientID)).String(),
		ClientID: clientID, Scope: []string{string(keyhole.ScopeIdentity)},
		Description: "bench filler (client credentials)", CreatedAt: now, UpdatedAt: now,
	}
	expires := now.AddDate(10, 0, 0)
	scope := []string{string(keyhole.ScopeIdentity)}
	batch := make([]keyhole.Token, 0, fillBatch)
	var raw [32]byte
	for done := 0; done < n; {
		batch = batch[:0]
		for range min(fillBatch, n-done) {
			rand.Read(raw[:])
			hash := hex.EncodeToString(raw[:])
			batch = append(batch, keyhole.Token{
				ID: uuid.Must(uuid.NewV7()).String(), AuthorizationID: auth.ID, Kind: keyhole.AccessToken,
				Hash: hash, Hint: "kha_" + hash[:4] + "**********" + hash[60:],
				ExpiresAt: expires, CreatedAt: now, Scope: scope,
			})
		}
		//secretcmp:ok sorts the filler's own hashes for the insert; nothing is checked against them
		slices.SortFunc(batch, func(a, b keyhole.Token) int { return strings.Compare(a.Hash, b.Hash) })
		if err := st.AddTokens(ctx, auth, batch); err != nil {
			return time.Since(began), fmt.Errorf("add tokens: %w", err)
		}
		done += len(batch)
		if done%(100*fillBatch) == 0 || done == n {
			fmt.Fprintf(progress, "  %d tokens written (%.0f s)\n", done, time.Since(began).Seconds())
		}
	}
	return time.Since(began), nil
}
