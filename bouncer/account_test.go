package bouncer

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/keyholeapi"
)

// TestFetchAccount: GET /account against a real Keyhole answers the
// account for a token that may read it, errForbidden (403) for a token
// without identity, errUnauthorized (401) for a revoked or unknown token,
// and another error when Keyhole is down.
func TestFetchAccount(t *testing.T) {
	ctx := context.Background()
	kh := keyholetest.NewServer(t, keyholetest.Options{})
	id := kh.CreateAccount(t, "ada@example.com", password)
	key := kh.APIKey(t, "ada@example.com", password)
	api, err := keyholeapi.New(kh.URL, keyholeapi.WithToken(key))
	if err != nil {
		t.Fatal(err)
	}
	name := "Ada Lovelace"
	if _, err := api.UpdateAccount(ctx, keyholeapi.AccountUpdate{Name: &name}); err != nil {
		t.Fatal(err)
	}
	token := func(scope string) string {
		t.Helper()
		a, err := api.CreateAuthorization(ctx, keyholeapi.AuthorizationCreate{Scope: []string{scope}})
		if err != nil {
			t.Fatal(err)
		}
		return a.AccessToken.Token
	}
	identity, read, revoked := token("identity"), token("read"), token("identity")
	all, err := api.Authorizations(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, a := range all {
		if a.AccessToken.Matches(revoked) {
			if _, err := api.DeleteAuthorization(ctx, a.ID); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	if n != 1 {
		t.Fatalf("revoked %d authorizations, want 1", n)
	}

	got, err := fetchAccount(ctx, http.DefaultClient, kh.URL, identity)
	if want := (Account{ID: id, Email: "ada@example.com", Name: name}); err != nil || got != want {
		t.Errorf("identity token: got %+v, %v; want %+v", got, err, want)
	}
	for _, c := range []struct {
		name, token string
		want        error
	}{
		{"read token (403)", read, errForbidden},
		{"revoked token (401)", revoked, errUnauthorized},
		{"unknown token (401)", "kha_nosuchtoken", errUnauthorized},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := fetchAccount(ctx, http.DefaultClient, kh.URL, c.token); !errors.Is(err, c.want) {
				t.Errorf("got %v, want %v", err, c.want)
			}
		})
	}

	kh.Close()
	_, err = fetchAccount(ctx, http.DefaultClient, kh.URL, identity)
	if err == nil || errors.Is(err, errUnauthorized) || errors.Is(err, errForbidden) {
		t.Errorf("Keyhole down: got %v, want another error", err)
	}
}
