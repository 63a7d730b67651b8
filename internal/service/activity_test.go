package service_test

import (
	"context"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/service"
	"github.com/keyhole/keyhole/internal/store"
)

const password = "correct horse battery"

// signIn starts a browser session and returns its actor.
func signIn(t *testing.T, ts *keyholetest.Server, email, pw string) service.Actor {
	t.Helper()
	ctx := context.Background()
	in, err := ts.Service.StartSession(ctx, service.BrowserLogin{Email: email, Password: pw, IP: "192.0.2.7", UserAgent: "Browser/1"})
	if err != nil || in.Secret == "" {
		t.Fatalf("sign in %s: %+v, %v", email, in, err)
	}
	actor, _, err := ts.Service.SessionActor(ctx, in.Secret.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	actor.IP, actor.UserAgent = "192.0.2.7", "Browser/1"
	return actor
}

// linkToken reads the token of the mailed link with path.
func linkToken(t *testing.T, m keyholetest.Mail, path string) string {
	t.Helper()
	u, err := url.Parse(m.Link(path + "?token="))
	if err != nil || u.Query().Get("token") == "" {
		t.Fatalf("no %s link in %q", path, m.Body)
	}
	return u.Query().Get("token")
}

// TestEveryEventIsRecorded drives every change the activity log records,
// through the service, on each backend, and finds each in the log with
// where it came from; no secret reaches the server's log meanwhile.
func TestEveryEventIsRecorded(t *testing.T) {
	for _, be := range keyholetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			var logs keyholetest.LogBuffer
			ts := keyholetest.NewServer(t, keyholetest.Options{Store: be.Open(t), Log: slog.New(slog.NewTextHandler(&logs, nil))})
			ctx := context.Background()
			svc := ts.Service
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			web := service.Origin{IP: "192.0.2.7", UserAgent: "Browser/1"}

			must(svc.SignUp(ctx, service.NewAccount{Email: "ada@example.com", Name: "Ada", Password: password, IP: web.IP}))
			acct, err := svc.VerifyEmail(ctx, linkToken(t, ts.Mail().Take(t, "ada@example.com", "confirm your email address"), service.VerifyPath), web)
			must(err)
			if _, err := svc.StartSession(ctx, service.BrowserLogin{Email: "ada@example.com", Password: "wrong password!", IP: web.IP, UserAgent: web.UserAgent}); keyhole.ErrorCode(err) != keyhole.Unauthorized {
				t.Fatalf("wrong password: %v", err)
			}
			actor := signIn(t, ts, "ada@example.com", password)

			_, err = svc.RevealAPIKey(ctx, actor, password)
			must(err)
			_, err = svc.RegenerateAPIKey(ctx, actor, "")
			must(err)
			name, redirect := "Notebook", "https://notebook.example/cb"
			c, err := svc.CreateClient(ctx, actor, service.ClientParams{Name: &name, RedirectURI: &redirect})
			must(err)
			renamed := "Notebook 2"
			_, err = svc.UpdateClient(ctx, actor, c.ID, service.ClientParams{Name: &renamed})
			must(err)
			_, err = svc.RotateClientSecret(ctx, actor, c.ID)
			must(err)
			_, err = svc.RevealClientSecret(ctx, actor, c.ID, "")
			must(err)
			grant, err := svc.CreateGrant(ctx, actor, service.GrantParams{ClientID: c.ID, Scope: []string{"identity"}})
			must(err)
			_, err = svc.RevokeAuthorization(ctx, actor, grant.ID)
			must(err)
			// A sign-in with OpenID Connect: the exchange issues an ID token.
			oidc, err := svc.CreateGrant(ctx, actor, service.GrantParams{ClientID: c.ID, Scope: []string{"openid"}})
			must(err)
			secret, err := svc.RevealClientSecret(ctx, actor, c.ID, "")
			must(err)
			tg, err := svc.Exchange(ctx, service.TokenRequest{GrantType: service.GrantAuthorizationCode, Code: oidc.Grant.Value.Reveal(),
				Client: service.ClientAuth{ID: c.ID, Secret: secret.Secret.Reveal(), IP: "198.51.100.4"}})
			must(err)
			if tg.IDToken == "" {
				t.Fatal("an openid grant's exchange returned no ID token")
			}
			_, err = svc.CreateAuthorization(ctx, actor, service.AuthorizationParams{Description: "script"})
			must(err)
			_, err = svc.DeleteClient(ctx, actor, c.ID)
			must(err)

			e, err := svc.StartMFA(ctx, actor)
			must(err)
			_, err = svc.EnableMFA(ctx, actor, e.Handle, password, keyholetest.TOTPCode(t, e.Secret.Reveal(), svc.Now(), 0))
			must(err)
			codes, err := svc.RegenerateRecoveryCodes(ctx, actor, password)
			must(err)
			_, err = svc.Login(ctx, service.LoginRequest{Email: "ada@example.com", Password: password, OTP: codes[0].Reveal(), IP: "192.0.2.8", UserAgent: "heroku-cli/11"})
			must(err)
			must(svc.DisableMFA(ctx, actor, password, keyholetest.TOTPCode(t, e.Secret.Reveal(), svc.Now(), 1)))

			// Teams: every change of who may do what, on ada's log.
			ts.CreateAccount(t, "bob@example.com", password)
			_, err = svc.CreateTeam(ctx, actor, "walk")
			must(err)
			_, err = svc.UpdateTeam(ctx, actor, "walk", service.TeamUpdate{Name: ptr("walkers")})
			must(err)
			_, err = svc.PutMember(ctx, actor, "walkers", "bob@example.com", "member", service.MemberUpsert)
			must(err)
			_, err = svc.PutMember(ctx, actor, "walkers", "bob@example.com", "viewer", service.MemberUpdate)
			must(err)
			_, err = svc.Invite(ctx, actor, "walkers", "carol@example.com", "member")
			must(err)
			ts.CreateAccount(t, "carol@example.com", password)
			_, err = svc.AcceptInvitation(ctx, signIn(t, ts, "carol@example.com", password), linkToken(t, ts.Mail().Take(t, "carol@example.com", "invited to join the team walkers"), service.InvitationPath))
			must(err)
			_, err = svc.Invite(ctx, actor, "walkers", "dan@example.com", "member")
			must(err)
			_, err = svc.RevokeInvitation(ctx, actor, "walkers", "dan@example.com")
			must(err)
			_, err = svc.CreateApp(ctx, actor, service.AppParams{Name: ptr("walk-app"), Team: ptr("walkers")})
			must(err)
			_, err = svc.AddCollaborator(ctx, actor, "walk-app", "bob@example.com", []string{"deploy"})
			must(err)
			_, err = svc.UpdateCollaborator(ctx, actor, "walk-app", "bob@example.com", []string{"operate"})
			must(err)
			_, err = svc.RemoveCollaborator(ctx, actor, "walk-app", "bob@example.com")
			must(err)
			_, err = svc.UpdateTeamApp(ctx, actor, "walk-app", service.TeamAppUpdate{Owner: ptr("ada@example.com")})
			must(err)
			_, err = svc.RemoveMember(ctx, actor, "walkers", "bob@example.com")
			must(err)
			_, err = svc.DeleteTeam(ctx, actor, "walkers")
			must(err)

			newEmail := "ada@lovelace.example"
			_, err = svc.UpdateAccount(ctx, actor, service.AccountUpdate{Email: &newEmail, CurrentPassword: password})
			must(err)
			_, err = svc.VerifyEmail(ctx, linkToken(t, ts.Mail().Take(t, newEmail, "confirm your new email"), service.VerifyPath), web)
			must(err)
			newPW := "an entirely new passphrase"
			_, err = svc.UpdateAccount(ctx, actor, service.AccountUpdate{NewPassword: &newPW, CurrentPassword: password})
			must(err)
			other := signIn(t, ts, newEmail, newPW)
			_, err = svc.DeleteSession(ctx, actor, other.Authorization.SessionID)
			must(err)
			must(svc.RequestPasswordReset(ctx, newEmail, web))
			must(svc.ResetPassword(ctx, service.PasswordReset{
				Token: linkToken(t, ts.Mail().Take(t, newEmail, "reset your password"), service.ResetPath), NewPassword: "yet another new passphrase", Origin: web,
			}))

			events, err := ts.Store.Events(ctx, acct.ID, store.Range{})
			must(err)
			seen := map[keyhole.EventType]keyhole.Event{}
			for _, e := range events {
				if e.AccountID != acct.ID || e.IP == "" || e.CreatedAt.IsZero() {
					t.Errorf("event without its account, address or time: %+v", e)
				}
				if _, ok := seen[e.Type]; !ok {
					seen[e.Type] = e
				}
			}
			for typ := range keyhole.EventTitles {
				if _, ok := seen[typ]; !ok {
					t.Errorf("no %s event recorded; got %v", typ, types(events))
				}
			}
			if e := seen[keyhole.EventRecoveryCodeUsed]; e.IP != "192.0.2.8" || e.UserAgent != "heroku-cli/11" {
				t.Errorf("recovery code event = %+v, want the CLI's address and agent", e)
			}
			if e := seen[keyhole.EventClientCreated]; e.Subject != c.ID || e.Detail != name {
				t.Errorf("client event = %+v", e)
			}
			for i := 1; i < len(events); i++ {
				if events[i].CreatedAt.Before(events[i-1].CreatedAt) {
					t.Errorf("events out of time order at %d: %v then %v", i, events[i-1].CreatedAt, events[i].CreatedAt)
				}
			}

			// Nothing secret reached the server's log.
			log := logs.String()
			secrets := []string{"kha_", "khr_", "khs_", "khe_", "khp_", "khx_", password, newPW, e.Secret.Reveal()}
			for _, c := range codes {
				secrets = append(secrets, c.Reveal())
			}
			for _, s := range secrets {
				if strings.Contains(log, s) {
					t.Errorf("the log holds a secret (%.6s…)", s)
				}
			}
		})
	}
}

func types(ev []keyhole.Event) []keyhole.EventType {
	var out []keyhole.EventType
	for _, e := range ev {
		out = append(out, e.Type)
	}
	return slices.Compact(out)
}

// TestConcurrentPasswordReset: 20 resets with one link at once, on each
// backend: exactly one sets the password; the others are refused.
func TestConcurrentPasswordReset(t *testing.T) {
	for _, be := range keyholetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			ts := keyholetest.NewServer(t, keyholetest.Options{Store: be.Open(t)})
			ctx := context.Background()
			ts.CreateAccount(t, "ada@example.com", password)
			if err := ts.Service.RequestPasswordReset(ctx, "ada@example.com", service.Origin{IP: "192.0.2.1"}); err != nil {
				t.Fatal(err)
			}
			tok := linkToken(t, ts.Mail().Take(t, "ada@example.com", "reset your password"), service.ResetPath)
			errs := make([]error, 20)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range errs {
				wg.Go(func() {
					<-start
					errs[i] = ts.Service.ResetPassword(ctx, service.PasswordReset{Token: tok, NewPassword: "a new passphrase number " + string(rune('a'+i))})
				})
			}
			close(start)
			wg.Wait()
			ok := 0
			for _, err := range errs {
				if err == nil {
					ok++
				}
			}
			if ok != 1 {
				t.Fatalf("20 concurrent resets with one link: %d succeeded (%v); want exactly one", ok, errs)
			}
		})
	}
}
