package service_test

import (
	"context"
	"testing"

	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/service"
)

// grantFixture is a server on one backend with an account, its actor and
// a confidential client.
type grantFixture struct {
	ts     *keyholetest.Server
	actor  service.Actor
	client service.ClientInfo
}

func newGrantFixture(t *testing.T, be keyholetest.Backend, o keyholetest.Options) grantFixture {
	t.Helper()
	o.Store = be.Open(t)
	ts := keyholetest.NewServer(t, o)
	ts.CreateAccount(t, "ada@example.com", "correct horse battery")
	actor, err := ts.Service.VerifyToken(context.Background(), ts.Login(t, "ada@example.com", "correct horse battery"))
	if err != nil {
		t.Fatal(err)
	}
	name, redirect := "Acme", "https://client.example/cb"
	c, err := ts.Service.CreateClient(context.Background(), actor, service.ClientParams{Name: &name, RedirectURI: &redirect})
	if err != nil {
		t.Fatal(err)
	}
	return grantFixture{ts: ts, actor: actor, client: c}
}

func (f grantFixture) auth() service.ClientAuth {
	return service.ClientAuth{ID: f.client.ID, Secret: f.client.Secret.Reveal()}
}

// tokens consents to the client for scope and exchanges the code.
func (f grantFixture) tokens(t *testing.T, scope ...string) service.TokenGrant {
	t.Helper()
	ctx := context.Background()
	info, err := f.ts.Service.CreateGrant(ctx, f.actor, service.GrantParams{ClientID: f.client.ID, Scope: scope})
	if err != nil {
		t.Fatal(err)
	}
	g, err := f.ts.Service.Exchange(ctx, service.TokenRequest{GrantType: service.GrantAuthorizationCode, Client: f.auth(), Code: info.Grant.Value.Reveal()})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func (f grantFixture) refresh(refresh string, scope ...string) (service.TokenGrant, error) {
	return f.ts.Service.Exchange(context.Background(), service.TokenRequest{
		GrantType: service.GrantRefreshToken, Client: f.auth(), RefreshToken: refresh, Scope: scope,
	})
}
