package oauth_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/service"
	"github.com/keyhole/keyhole/internal/store"
)

// TestTokenAnswerSessionNonce pins where the token endpoint sends
// Heroku's session_nonce (docs/heroku-compatibility.md): with a CLI login,
// whose authorization has a login session, the session's id; with an
// application's grant, which outlives every session, none (left out,
// never null), on the code exchange and on a refresh alike.
func TestTokenAnswerSessionNonce(t *testing.T) {
	for _, b := range keyholetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b)
			ctx := context.Background()
			a := f.post("/oauth/device/code", url.Values{"client_id": {keyhole.CLIClientID}}, nil)
			if a.status != 200 {
				t.Fatalf("device code: %d %s", a.status, a.raw)
			}
			if _, err := f.ts.Service.AnswerDevice(ctx, f.actor, f.deviceHandle(a.body["user_code"].(string)), true); err != nil {
				t.Fatal(err)
			}
			login := f.post("/oauth/token", url.Values{"grant_type": {service.GrantDeviceCode}, "device_code": {a.body["device_code"].(string)},
				"client_id": {keyhole.CLIClientID}}, nil)
			access, _ := login.wantTokens(t)
			sessions, err := f.ts.Store.ListSessions(ctx, f.actor.AccountID, store.Range{})
			if err != nil {
				t.Fatal(err)
			}
			var loginSession string
			for _, s := range sessions {
				if s.ParentID != "" {
					loginSession = s.ID
				}
			}
			if loginSession == "" || login.body["session_nonce"] != loginSession || login.body["user_id"] != f.actor.AccountID {
				t.Errorf("CLI login answer: session_nonce %v, user_id %v; want the login session %q and the account", login.body["session_nonce"], login.body["user_id"], loginSession)
			}
			if f.apiStatus("/account", access) != 200 {
				t.Error("the CLI login's token does not work")
			}

			app := creds(f.app)
			code := f.post("/oauth/token", codeForm(f.grant(f.app, []string{"read"}, "", ""), "", ""), app)
			_, r := code.wantTokens(t)
			again := refresh(f, r, "", app)
			again.wantTokens(t)
			for name, ans := range map[string]answer{"code": code, "refresh": again} {
				if v, ok := ans.body["session_nonce"]; ok {
					t.Errorf("%s answer of an application's grant: session_nonce %v, want none", name, v)
				}
			}
		})
	}
}
