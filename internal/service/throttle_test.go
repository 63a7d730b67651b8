package service_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/ratelimit"
	"github.com/keyhole/keyhole/internal/service"
)

const ada = "ada@example.com"

// Addresses: attackers in 198.51.100.0/24, the people they aim at in
// 203.0.113.0/24 (RFC 5737).
func attacker(i int) string { return fmt.Sprintf("198.51.100.%d", i) }

const victim = "203.0.113.7"

// codes counts the errors by domain code ("" for nil).
func codes(errs []error) map[string]int {
	n := map[string]int{}
	for _, err := range errs {
		if err == nil {
			n[""]++
		} else {
			n[keyhole.ErrorCode(err)]++
		}
	}
	return n
}

// wantRefused checks a throttle's refusal and that its message names
// whom (and, with not, that it does not name that).
func wantRefused(t *testing.T, what string, err error, whom, not string) {
	t.Helper()
	msg := keyhole.ErrorMessage(err)
	if keyhole.ErrorCode(err) != keyhole.RateLimited || keyhole.ErrorRetryAfter(err) <= 0 {
		t.Fatalf("%s: %v, want RateLimited with a wait", what, err)
	}
	if !strings.Contains(msg, whom) || not != "" && strings.Contains(msg, not) {
		t.Errorf("%s: message %q, want it to name %q (and not %q)", what, msg, whom, not)
	}
}

// frozenServer is a server whose clock, and throttles' clock, stand
// still: no budget earns anything back while the test runs. The throttles
// are in the process; what is tested of them here does not depend on
// where they are kept.
func frozenServer(t *testing.T) *keyholetest.Server {
	now := time.Now()
	clock := func() time.Time { return now }
	return keyholetest.NewServer(t, keyholetest.Options{Now: clock, Limits: ratelimit.Local{Now: clock}})
}

// TestSignInThrottleVictimNotLockedOut: wrong passwords from one address
// spend that address's budget for the account (10), not the account's: the
// person signs in from elsewhere — by the API, the browser, and a
// re-authentication. 20 wrong passwords at once from one address reach
// the check exactly 10 times.
func TestSignInThrottleVictimNotLockedOut(t *testing.T) {
	for _, be := range keyholetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			ts := keyholetest.NewServer(t, keyholetest.Options{Store: be.Open(t)})
			ts.CreateAccount(t, ada, password)
			ctx := context.Background()
			errs := keyholetest.Parallel(20, func(int) error {
				_, err := ts.Service.Authenticate(ctx, ada, "wrong password", service.Origin{IP: attacker(1)})
				return err
			})
			if n := codes(errs); n[keyhole.Unauthorized] != service.DefaultFailedLogins || n[keyhole.RateLimited] != 20-service.DefaultFailedLogins {
				t.Errorf("20 wrong passwords at once from one address: %v; want %d checked, the rest refused", n, service.DefaultFailedLogins)
			}
			_, err := ts.Service.Authenticate(ctx, ada, password, service.Origin{IP: attacker(1)})
			wantRefused(t, "the right password from the address that failed", err, "for this account from your network address", "")

			if _, err := ts.Service.Login(ctx, service.LoginRequest{Email: ada, Password: password, IP: victim}); err != nil {
				t.Errorf("API login from another address: %v", err)
			}
			in, err := ts.Service.StartSession(ctx, service.BrowserLogin{Email: ada, Password: password, IP: victim})
			if err != nil || in.Secret == "" {
				t.Fatalf("browser sign-in from another address: %+v, %v", in, err)
			}
			actor, _, err := ts.Service.SessionActor(ctx, in.Secret.Reveal())
			if err != nil {
				t.Fatal(err)
			}
			actor.IP = victim
			np := "a different horse entirely"
			if _, err := ts.Service.UpdateAccount(ctx, actor, service.AccountUpdate{NewPassword: &np, CurrentPassword: password}); err != nil {
				t.Errorf("re-authentication (password change) from another address: %v", err)
			}
		})
	}
}

// TestSignInCeiling: the account's own budget is a ceiling of 100
// failures from every address together. The 100th is still checked from
// an address with failures of its own; past it, such an address is
// refused (the message names the account), while an address without
// failures still reaches the check — the person's right password above
// all.
func TestSignInCeiling(t *testing.T) {
	ts := frozenServer(t)
	ts.CreateAccount(t, ada, password)
	ctx := context.Background()
	auth := func(pw, ip string) error {
		_, err := ts.Service.Authenticate(ctx, ada, pw, service.Origin{IP: ip})
		return err
	}
	for i := 1; i <= service.AccountCeiling/service.DefaultFailedLogins; i++ {
		for j := range service.DefaultFailedLogins {
			wantCode(t, fmt.Sprintf("wrong password %d from %s", j+1, attacker(i)), auth("wrong password", attacker(i)), keyhole.Unauthorized)
		}
	}
	// The ceiling is spent. A new address's first guess is checked; its
	// second is not.
	wantCode(t, "a new address's first wrong password", auth("wrong password", attacker(50)), keyhole.Unauthorized)
	wantRefused(t, "its second", auth("wrong password", attacker(50)), "for this account.", "network address")
	wantRefused(t, "its right password", auth(password, attacker(50)), "for this account.", "network address")
	wantRefused(t, "an address whose own budget is spent", auth(password, attacker(1)), "for this account from your network address", "")
	if err := auth(password, victim); err != nil {
		t.Errorf("the right password from an address without failures: %v", err)
	}
	if err := auth(password, victim); err != nil {
		t.Errorf("again: %v", err)
	}
}

// wrongCodes returns n six-digit codes that are not seed's code for any
// time step within two of now.
func wrongCodes(t *testing.T, seed string, now time.Time, n int) []string {
	valid := map[string]bool{}
	for s := -2; s <= 2; s++ {
		valid[keyholetest.TOTPCode(t, seed, now, s)] = true
	}
	var out []string
	for i := 0; len(out) < n; i++ {
		if c := fmt.Sprintf("%06d", i); !valid[c] {
			out = append(out, c)
		}
	}
	return out
}

// TestTwoFactorThrottleVictimNotLockedOut: someone who has the password
// and guesses codes from one address spends that address's budget of
// codes for the account (10 of 20 sent at once are checked), not the
// account's: the person signs in with the right code from elsewhere.
func TestTwoFactorThrottleVictimNotLockedOut(t *testing.T) {
	for _, be := range keyholetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			ts := keyholetest.NewServer(t, keyholetest.Options{Store: be.Open(t)})
			ts.CreateAccount(t, ada, password)
			seed, _ := ts.EnableMFA(t, ada, password)
			ctx := context.Background()
			wrong := wrongCodes(t, seed, ts.Service.Now(), 20)
			errs := keyholetest.Parallel(20, func(i int) error {
				_, err := ts.Service.Login(ctx, service.LoginRequest{Email: ada, Password: password, OTP: wrong[i], IP: attacker(1)})
				return err
			})
			if n := codes(errs); n[keyhole.TwoFactor] != service.DefaultFailedLogins || n[keyhole.RateLimited] != 20-service.DefaultFailedLogins {
				t.Errorf("20 wrong codes at once from one address: %v; want %d checked, the rest refused", n, service.DefaultFailedLogins)
			}
			good := keyholetest.TOTPCode(t, seed, ts.Service.Now(), 1)
			_, err := ts.Service.Login(ctx, service.LoginRequest{Email: ada, Password: password, OTP: good, IP: attacker(1)})
			wantRefused(t, "the right code from the address that failed", err, "for this account from your network address", "")
			if _, err := ts.Service.Login(ctx, service.LoginRequest{Email: ada, Password: password, OTP: good, IP: victim}); err != nil {
				t.Errorf("the right code from another address: %v", err)
			}
		})
	}
}

// TestClientSecretThrottleIgnoresOtherAddresses: wrong secrets from one
// address spend that address's budget for the client (20 of 40 sent at
// once are checked), not the client's: the client's right secret from its
// own address is accepted (the token, device, revocation and
// introspection endpoints all authenticate clients this way).
func TestClientSecretThrottleIgnoresOtherAddresses(t *testing.T) {
	for _, be := range keyholetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			ts := keyholetest.NewServer(t, keyholetest.Options{Store: be.Open(t)})
			app := newApp(t, ts)
			ctx := context.Background()
			errs := keyholetest.Parallel(40, func(int) error {
				_, err := ts.Service.AuthenticateClient(ctx, service.ClientAuth{ID: app.ID, Secret: "khs_wrong", IP: attacker(1)})
				return err
			})
			if n := codes(errs); n[keyhole.InvalidClient] != 20 || n[keyhole.RateLimited] != 20 {
				t.Errorf("40 wrong secrets at once from one address: %v; want 20 checked, 20 refused", n)
			}
			_, err := ts.Service.AuthenticateClient(ctx, service.ClientAuth{ID: app.ID, Secret: app.Secret.Reveal(), IP: attacker(1)})
			wantRefused(t, "the right secret from the address that failed", err, "for this client from your network address", "")
			if _, err := ts.Service.AuthenticateClient(ctx, service.ClientAuth{ID: app.ID, Secret: app.Secret.Reveal(), IP: victim}); err != nil {
				t.Errorf("the client from its own address: %v", err)
			}
		})
	}
}

// TestClientSecretCeiling: the client's own budget is a ceiling of 1000
// failures a minute from every address together. Past it, an address
// with half of its own budget left (10 of 20) still reaches the check, so
// that the client's 10 parallel requests from its address all pass; the
// 11th failure of a new address is refused, naming the client.
func TestClientSecretCeiling(t *testing.T) {
	ts := frozenServer(t)
	app := newApp(t, ts)
	ctx := context.Background()
	check := func(secret, ip string) error {
		_, err := ts.Service.AuthenticateClient(ctx, service.ClientAuth{ID: app.ID, Secret: secret, IP: ip})
		return err
	}
	for i := 1; i <= service.ClientCeiling/20; i++ {
		if n := codes(keyholetest.Parallel(20, func(int) error { return check("khs_wrong", attacker(i)) })); n[keyhole.InvalidClient] != 20 {
			t.Fatalf("20 wrong secrets from %s: %v, want all checked", attacker(i), n)
		}
	}
	for j := range 10 {
		wantCode(t, fmt.Sprintf("wrong secret %d of a new address past the ceiling", j+1), check("khs_wrong", attacker(100)), keyhole.InvalidClient)
	}
	wantRefused(t, "its 11th", check("khs_wrong", attacker(100)), "for this client.", "network address")
	if n := codes(keyholetest.Parallel(10, func(int) error { return check(app.Secret.Reveal(), victim) })); n[""] != 10 {
		t.Errorf("10 parallel requests of the client past the ceiling: %v, want all accepted", n)
	}
}

func newApp(t *testing.T, ts *keyholetest.Server) service.ClientInfo {
	t.Helper()
	ts.CreateAccount(t, ada, password)
	actor, err := ts.Service.VerifyToken(context.Background(), ts.Login(t, ada, password))
	if err != nil {
		t.Fatal(err)
	}
	name, uri := "App", "https://app.example/cb"
	c, err := ts.Service.CreateClient(context.Background(), actor, service.ClientParams{Name: &name, RedirectURI: &uri})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestThrottleKeysIPv6On64: the per-address budgets count an IPv6 /64 as
// one address, and an IPv4-mapped IPv6 address as the IPv4 address.
func TestThrottleKeysIPv6On64(t *testing.T) {
	ts := frozenServer(t)
	ts.CreateAccount(t, ada, password)
	ctx := context.Background()
	auth := func(email, pw, ip string) error {
		_, err := ts.Service.Authenticate(ctx, email, pw, service.Origin{IP: ip})
		return err
	}
	// 100 wrong passwords across emails, each from another host of one /64.
	for i := range 100 {
		wantCode(t, "a wrong password", auth(fmt.Sprintf("user%d@example.com", i), "wrong", fmt.Sprintf("2001:db8:1:2::%x", i+1)), keyhole.Unauthorized)
	}
	wantRefused(t, "the 101st, from yet another host of the /64", auth("fresh@example.com", "wrong", "2001:db8:1:2:ffff:ffff:ffff:ffff"), "your network address", "")
	wantRefused(t, "the right password from the /64", auth(ada, password, "2001:db8:1:2::abcd"), "your network address", "")
	wantCode(t, "the neighbouring /64", auth("fresh@example.com", "wrong", "2001:db8:1:3::1"), keyhole.Unauthorized)
	if err := auth(ada, password, "2001:db8:1:3::2"); err != nil {
		t.Errorf("the right password from the neighbouring /64: %v", err)
	}
	// The pair budget too: ten wrong passwords for ada from one host spend
	// it for the whole /64.
	for i := range service.DefaultFailedLogins {
		wantCode(t, "a wrong password for ada", auth(ada, "wrong", fmt.Sprintf("2001:db8:9:9::%x", i+1)), keyhole.Unauthorized)
	}
	wantRefused(t, "ada's right password from the /64", auth(ada, password, "2001:db8:9:9::ff"), "for this account from your network address", "")
	// IPv4-mapped: the same address as IPv4.
	for range service.DefaultFailedLogins {
		wantCode(t, "a wrong password over IPv4-mapped IPv6", auth(ada, "wrong", "::ffff:198.51.100.7"), keyhole.Unauthorized)
	}
	wantRefused(t, "the right password over IPv4", auth(ada, password, "198.51.100.7"), "for this account from your network address", "")
	if err := auth(ada, password, "198.51.100.8"); err != nil {
		t.Errorf("the next IPv4 address: %v", err)
	}
}

func authErr(ts *keyholetest.Server, email, pw, ip string) error {
	_, err := ts.Service.Authenticate(context.Background(), email, pw, service.Origin{IP: ip})
	return err
}
