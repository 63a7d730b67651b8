package service_test

import (
	"context"
	"strings"
	"testing"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/service"
)

// linkCase is an account with a browser session, on one backend.
type linkCase struct {
	ts    *keyholetest.Server
	actor service.Actor
	seed  string // the TOTP seed, when two-factor is on
	codes []string
}

func newLinkCase(t *testing.T, be keyholetest.Backend, email string, mfa bool) *linkCase {
	t.Helper()
	ts := keyholetest.NewServer(t, keyholetest.Options{Store: be.Open(t)})
	ts.CreateAccount(t, email, password)
	c := &linkCase{ts: ts}
	if mfa {
		c.seed, c.codes = ts.EnableMFA(t, email, password)
		ts.Mail().Take(t, email, "Two-factor authentication was turned on")
		in, err := ts.Service.StartSession(context.Background(), service.BrowserLogin{Email: email, Password: password, IP: "192.0.2.7", Binding: "b"})
		if err != nil {
			t.Fatal(err)
		}
		_, raw, err := ts.Service.FinishSignIn(context.Background(), service.SecondStep{Pending: in.Pending, Binding: "b", Code: c.code(t, 1), IP: "192.0.2.7"})
		if err != nil {
			t.Fatal(err)
		}
		c.actor, _, err = ts.Service.SessionActor(context.Background(), raw.Reveal())
		if err != nil {
			t.Fatal(err)
		}
		c.actor.IP = "192.0.2.7"
	} else {
		c.actor = signIn(t, ts, email, password)
	}
	return c
}

// code is the TOTP code steps steps from now.
func (c *linkCase) code(t *testing.T, steps int) string {
	return keyholetest.TOTPCode(t, c.seed, c.ts.Service.Now(), steps)
}

// askEmailChange asks to move the account to email and returns the
// token of the link mailed there.
func (c *linkCase) askEmailChange(t *testing.T, email string) string {
	t.Helper()
	if _, err := c.ts.Service.UpdateAccount(context.Background(), c.actor, service.AccountUpdate{Email: &email, CurrentPassword: password}); err != nil {
		t.Fatalf("ask to change the email to %s: %v", email, err)
	}
	return linkToken(t, c.ts.Mail().Take(t, email, "confirm your new email address"), service.VerifyPath)
}

// askReset asks for a reset link to email and returns its token.
func (c *linkCase) askReset(t *testing.T, email string) string {
	t.Helper()
	if err := c.ts.Service.RequestPasswordReset(context.Background(), email, service.Origin{IP: "192.0.2.7"}); err != nil {
		t.Fatal(err)
	}
	return linkToken(t, c.ts.Mail().Take(t, email, "reset your password"), service.ResetPath)
}

func wantDeadLink(t *testing.T, what string, err error) {
	t.Helper()
	if keyhole.ErrorCode(err) != keyhole.Invalid || keyhole.ErrorMessage(err) != "This link does not work: it was used already, it has expired, or it was copied incompletely. Ask for a new one." {
		t.Errorf("%s: err = %v, want the dead-link answer", what, err)
	}
}

// The causes that must end every email-change and reset link mailed
// before them, each done the way a person does it.
var linkEnders = []struct {
	name string
	mfa  bool // the account has two-factor on before
	do   func(t *testing.T, c *linkCase)
}{
	{"password change", false, func(t *testing.T, c *linkCase) {
		pw := "another long password"
		if _, err := c.ts.Service.UpdateAccount(context.Background(), c.actor, service.AccountUpdate{NewPassword: &pw, CurrentPassword: password}); err != nil {
			t.Fatal(err)
		}
	}},
	{"password reset", false, func(t *testing.T, c *linkCase) {
		tok := c.askReset(t, "ada@example.com")
		if err := c.ts.Service.ResetPassword(context.Background(), service.PasswordReset{Token: tok, NewPassword: "another long password"}); err != nil {
			t.Fatal(err)
		}
	}},
	{"every other session ended", false, func(t *testing.T, c *linkCase) {
		if _, err := c.ts.Service.EndOtherSessions(context.Background(), c.actor); err != nil {
			t.Fatal(err)
		}
	}},
	{"another email change request", false, func(t *testing.T, c *linkCase) {
		c.askEmailChange(t, "ada@third.example")
	}},
	{"two-factor turned on", false, func(t *testing.T, c *linkCase) {
		e, err := c.ts.Service.StartMFA(context.Background(), c.actor)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.ts.Service.EnableMFA(context.Background(), c.actor, e.Handle, password, keyholetest.TOTPCode(t, e.Secret.Reveal(), c.ts.Service.Now(), 0)); err != nil {
			t.Fatal(err)
		}
	}},
	{"two-factor turned off", true, func(t *testing.T, c *linkCase) {
		if err := c.ts.Service.DisableMFA(context.Background(), c.actor, password, c.codes[0]); err != nil {
			t.Fatal(err)
		}
	}},
}

// TestEmailChangeLinkEndsWithCredentials: someone who once had the
// password asks to move the email to their own address; every change the
// owner can make that should lock them out ends that link, on both
// databases.
func TestEmailChangeLinkEndsWithCredentials(t *testing.T) {
	for _, be := range keyholetest.Backends(t) {
		for _, cause := range linkEnders {
			t.Run(be.Name+"/"+cause.name, func(t *testing.T) {
				c := newLinkCase(t, be, "ada@example.com", cause.mfa)
				tok := c.askEmailChange(t, "mallory@evil.example")
				cause.do(t, c)
				ctx := context.Background()
				_, err := c.ts.Service.CheckEmailLink(ctx, tok)
				wantDeadLink(t, "the link's page", err)
				_, err = c.ts.Service.VerifyEmail(ctx, tok, service.Origin{})
				wantDeadLink(t, "opening the link", err)
				if a, _ := c.ts.Service.Account(ctx, c.actor); a.Email != "ada@example.com" {
					t.Errorf("the email changed to %s through an ended link", a.Email)
				}
			})
		}
	}
}

// TestResetLinkEndsWithCredentials: a reset link works only while the
// credentials are as they were when it was mailed — an email change (it
// works only for the address it was mailed to), a password change, and
// every other cause end it.
func TestResetLinkEndsWithCredentials(t *testing.T) {
	for _, be := range keyholetest.Backends(t) {
		enders := append([]struct {
			name string
			mfa  bool
			do   func(t *testing.T, c *linkCase)
		}{{"email change", false, func(t *testing.T, c *linkCase) {
			tok := c.askEmailChange(t, "ada@new.example")
			if _, err := c.ts.Service.VerifyEmail(context.Background(), tok, service.Origin{}); err != nil {
				t.Fatal(err)
			}
		}}}, linkEnders...)
		for _, cause := range enders {
			t.Run(be.Name+"/"+cause.name, func(t *testing.T) {
				c := newLinkCase(t, be, "ada@example.com", cause.mfa)
				tok := c.askReset(t, "ada@example.com")
				cause.do(t, c)
				ctx := context.Background()
				_, err := c.ts.Service.ResetLink(ctx, tok)
				wantDeadLink(t, "the link's page", err)
				err = c.ts.Service.ResetPassword(ctx, service.PasswordReset{Token: tok, NewPassword: "the attacker's password", Code: "000000"})
				wantDeadLink(t, "using the link", err)
				a, _ := c.ts.Service.Account(ctx, c.actor)
				if _, err := c.ts.Service.Authenticate(ctx, a.Email, "the attacker's password", service.Origin{IP: "192.0.2.9"}); err == nil {
					t.Error("the password set through an ended link works")
				}
			})
		}
	}
}

// TestEmailChangeRequestTellsCurrentAddress: the current address hears of
// a change when it is asked for, before anything changed, with the new
// address named.
func TestEmailChangeRequestTellsCurrentAddress(t *testing.T) {
	c := newLinkCase(t, keyholetest.Backends(t)[0], "ada@example.com", false)
	c.askEmailChange(t, "ada@new.example")
	m := c.ts.Mail().Take(t, "ada@example.com", "a change of your email address was asked for")
	if !strings.Contains(m.Body, "ada@new.example") || m.Link("/email/verify") != "" {
		t.Errorf("the notice to the current address: %q (want the new address named, and no link)", m.Body)
	}
}

// TestEmailChangeAnswersAlikeForTakenAddress: asking for an address that
// has an account answers as for a free one; its owner gets a notice and
// no link, and the current address is told either way.
func TestEmailChangeAnswersAlikeForTakenAddress(t *testing.T) {
	for _, be := range keyholetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			c := newLinkCase(t, be, "ada@example.com", false)
			c.ts.CreateAccount(t, "bob@example.com", password)
			ctx := context.Background()
			taken := "BOB@example.com"
			got, err := c.ts.Service.UpdateAccount(ctx, c.actor, service.AccountUpdate{Email: &taken, CurrentPassword: password})
			if err != nil {
				t.Fatalf("a taken address: %v (want the same answer as a free one)", err)
			}
			free := "ada@free.example"
			want, err := c.ts.Service.UpdateAccount(ctx, c.actor, service.AccountUpdate{Email: &free, CurrentPassword: password})
			if err != nil {
				t.Fatal(err)
			}
			if got.Email != want.Email || got.Email != "ada@example.com" {
				t.Errorf("answers differ: taken %q, free %q", got.Email, want.Email)
			}
			notice := c.ts.Mail().Take(t, "bob@example.com", "someone tried to move another account to your address")
			if notice.Link("token=") != "" {
				t.Errorf("the owner of the taken address got a link: %q", notice.Body)
			}
			c.ts.Mail().Take(t, "ada@example.com", "a change of your email address was asked for")
			c.ts.Mail().Take(t, "ada@example.com", "a change of your email address was asked for")
			c.ts.Mail().Take(t, "ada@free.example", "confirm your new email address")
			for _, m := range c.ts.Mail().All(t) {
				if m.To == "bob@example.com" && m.Link("token=") != "" {
					t.Errorf("a link went to the taken address: %s", m.Subject)
				}
			}
		})
	}
}

// TestLinkOpenedTwentyTimesAtOnce: twenty parallel openings of one
// email-change link, or of one reset link, let exactly one through.
func TestLinkOpenedTwentyTimesAtOnce(t *testing.T) {
	for _, be := range keyholetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			c := newLinkCase(t, be, "ada@example.com", false)
			ctx := context.Background()
			change := c.askEmailChange(t, "ada@new.example")
			ok := succeeded(keyholetest.Parallel(20, func(int) error {
				_, err := c.ts.Service.VerifyEmail(ctx, change, service.Origin{})
				return err
			}))
			if ok != 1 {
				t.Errorf("20 openings of one email-change link: %d went through, want 1", ok)
			}
			reset := c.askReset(t, "ada@new.example")
			ok = succeeded(keyholetest.Parallel(20, func(i int) error {
				return c.ts.Service.ResetPassword(ctx, service.PasswordReset{Token: reset, NewPassword: "a parallel new password " + string(rune('a'+i))})
			}))
			if ok != 1 {
				t.Errorf("20 uses of one reset link: %d went through, want 1", ok)
			}
		})
	}
}

// succeeded counts the calls that answered no error.
func succeeded(errs []error) int {
	n := 0
	for _, err := range errs {
		if err == nil {
			n++
		}
	}
	return n
}

// TestEndedLinkStaysEnded: a link ended by one change stays ended after
// every later one (the credentials version only moves forward), whether
// the later change is a reset or a password change, and opening a live
// email-change link tells the old address it was done.
func TestEndedLinkStaysEnded(t *testing.T) {
	later := map[string]func(t *testing.T, c *linkCase){
		// The password stays the same (it may), so the test can go on
		// with it; both sign everyone else out.
		"reset": func(t *testing.T, c *linkCase) {
			reset := c.askReset(t, "ada@example.com")
			if err := c.ts.Service.ResetPassword(context.Background(), service.PasswordReset{Token: reset, NewPassword: password}); err != nil {
				t.Fatal(err)
			}
			c.actor = signIn(t, c.ts, "ada@example.com", password)
		},
		"password change": func(t *testing.T, c *linkCase) {
			pw := password
			if _, err := c.ts.Service.UpdateAccount(context.Background(), c.actor, service.AccountUpdate{NewPassword: &pw, CurrentPassword: password}); err != nil {
				t.Fatal(err)
			}
		},
	}
	for _, be := range keyholetest.Backends(t) {
		for name, change := range later {
			t.Run(be.Name+"/"+name, func(t *testing.T) {
				c := newLinkCase(t, be, "ada@example.com", false)
				ctx := context.Background()
				first := c.askEmailChange(t, "mallory@evil.example")
				second := c.askEmailChange(t, "ada@second.example") // ends first
				change(t, c)                                        // ends second
				for what, tok := range map[string]string{"the first change's link": first, "the second change's link": second} {
					_, err := c.ts.Service.VerifyEmail(ctx, tok, service.Origin{})
					wantDeadLink(t, what+" after the "+name, err)
				}
				live := c.askEmailChange(t, "ada@third.example")
				if _, err := c.ts.Service.VerifyEmail(ctx, live, service.Origin{}); err != nil {
					t.Fatalf("a link made after every change: %v", err)
				}
				m := c.ts.Mail().Take(t, "ada@example.com", "your email address was changed")
				if !strings.Contains(m.Body, "ada@third.example") {
					t.Errorf("the old address's notice does not name the new one: %q", m.Body)
				}
			})
		}
	}
}
