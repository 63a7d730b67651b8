package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

// event returns an event of the account with a time-ordered id.
func event(accountID string, typ keyhole.EventType, at time.Time) keyhole.Event {
	return keyhole.Event{ID: uuid.Must(uuid.NewV7()).String(), AccountID: accountID, Type: typ, IP: "192.0.2.1",
		UserAgent: "test/1.0", Subject: "s-" + string(typ), Detail: "détail", CreatedAt: at}
}

// events lists every event of the account, oldest first.
func events(t *testing.T, s store.Store, accountID string) []keyhole.Event {
	t.Helper()
	ev, err := s.Events(ctx, accountID, store.Range{})
	must(t, err)
	return ev
}

func types(ev []keyhole.Event) []keyhole.EventType {
	out := make([]keyhole.EventType, len(ev))
	for i, e := range ev {
		out[i] = e.Type
	}
	return out
}

// testEventsWithChanges: every mutating method that takes events records
// them with its change, and Events pages them by id in both orders.
func testEventsWithChanges(t *testing.T, s store.Store) {
	a, key := newAccount(t, s, "ada@example.com")
	var want []keyhole.EventType
	step := 0
	ev := func(typ keyhole.EventType) keyhole.Event {
		step++
		want = append(want, typ)
		return event(a.ID, typ, t0.Add(time.Duration(step)*time.Second))
	}
	must(t, s.Record(ctx, ev(keyhole.EventLoginFailed)))
	sess := keyhole.Session{ID: id(), AccountID: a.ID, Hash: "h-" + id(), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	must(t, s.CreateSession(ctx, sess, 1, nil, nil, ev(keyhole.EventLoginSucceeded)))
	c := keyhole.Client{ID: id(), AccountID: a.ID, Name: "App", RedirectURI: "https://app.example/cb", CreatedAt: t0, UpdatedAt: t0}
	must(t, s.CreateClient(ctx, c, ev(keyhole.EventClientCreated)))
	_, err := s.UpdateClient(ctx, c.ID, func(c *keyhole.Client) error { c.Name = "Renamed"; return nil }, ev(keyhole.EventClientRotated))
	must(t, err)
	auth := keyhole.Authorization{ID: id(), AccountID: a.ID, ClientID: c.ID, Scope: []string{"identity"}, CreatedAt: t0, UpdatedAt: t0}
	must(t, s.CreateAuthorization(ctx, auth, []keyhole.Token{token(auth.ID, keyhole.GrantCode)}, ev(keyhole.EventAuthorizationGrant)))
	must(t, s.DeleteAuthorization(ctx, auth.ID, ev(keyhole.EventAuthorizationRevoke)))
	must(t, s.ReplaceTokens(ctx, key.ID, []keyhole.Token{token(key.ID, keyhole.AccessToken)}, ev(keyhole.EventAPIKeyRegenerated)))
	_, err = s.UpdateAccount(ctx, a.ID, func(a *keyhole.Account) error { a.Name = "Ada"; return nil }, ev(keyhole.EventEmailChanged))
	must(t, err)
	must(t, s.DeleteClient(ctx, c.ID, ev(keyhole.EventClientDeleted)))
	other := keyhole.Session{ID: id(), AccountID: a.ID, Hash: "h-" + id(), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	must(t, s.CreateSession(ctx, other, 1, nil, nil))
	must(t, s.DeleteSession(ctx, other.ID, ev(keyhole.EventSessionEnded)))
	dc := newClient(t, s, a.ID)
	g := deviceGrant(dc.ID)
	must(t, s.CreateDeviceGrant(ctx, g))
	_, err = s.UpdateDeviceGrant(ctx, g.ID, func(g *keyhole.DeviceGrant) error { g.Status = keyhole.DeviceApproved; return nil }, ev(keyhole.EventAuthorizationGrant))
	must(t, err)
	must(t, s.EnableMFA(ctx, a.ID, []byte("sealed"), []string{"c1"}, t0, ev(keyhole.EventMFAEnabled)))
	must(t, s.ReplaceRecoveryCodes(ctx, a.ID, []string{"c2"}, t0, ev(keyhole.EventRecoveryCodesNew)))
	must(t, s.UseRecoveryCode(ctx, a.ID, "c2", t0, ev(keyhole.EventRecoveryCodeUsed)))
	must(t, s.DisableMFA(ctx, a.ID, t0, ev(keyhole.EventMFADisabled)))
	n, err := s.DeleteOtherSessions(ctx, a.ID, sess.ID, ev(keyhole.EventSessionEnded))
	must(t, err)
	if n != 0 {
		t.Errorf("DeleteOtherSessions = %d, want 0 (only the kept one is left)", n)
	}
	must(t, s.CreateMailToken(ctx, keyhole.MailToken{Hash: "m-" + id(), AccountID: a.ID, Purpose: keyhole.MailVerify, Email: a.Email, Version: 1, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
	must(t, s.RequestEmailChange(ctx, a.ID, version(t, s, a.ID), nil, ev(keyhole.EventEmailChangeAsked)))
	reset := a
	v := version(t, s, a.ID)
	reset.PasswordHash, reset.CredentialsVersion, reset.UpdatedAt = "$argon2id$new", v+1, t0
	_, err = s.ResetAccount(ctx, store.Reset{Account: reset, Version: v, KeepSession: sess.ID, Events: []keyhole.Event{ev(keyhole.EventPasswordChanged)}})
	must(t, err)

	got := events(t, s, a.ID)
	if !slices.Equal(types(got), want) {
		t.Fatalf("events = %v, want %v", types(got), want)
	}
	first := got[0]
	if first.AccountID != a.ID || first.IP != "192.0.2.1" || first.UserAgent != "test/1.0" || first.Detail != "détail" ||
		first.Subject != "s-login.failed" || !first.CreatedAt.Equal(t0.Add(time.Second)) || first.CreatedAt.Location() != time.UTC {
		t.Errorf("first event = %+v", first)
	}
	// Newest first, a page at a time.
	page, err := s.Events(ctx, a.ID, store.Range{Desc: true, Max: 3})
	must(t, err)
	if len(page) != 3 || page[0].ID != got[len(got)-1].ID || page[2].ID != got[len(got)-3].ID {
		t.Fatalf("first page, newest first = %v", types(page))
	}
	next, err := s.Events(ctx, a.ID, store.Range{Desc: true, Max: 3, Start: page[2].ID, Exclusive: true})
	must(t, err)
	if len(next) != 3 || next[0].ID != got[len(got)-4].ID {
		t.Errorf("second page = %v", types(next))
	}
	b, _ := newAccount(t, s, "bob@example.com")
	if ev := events(t, s, b.ID); len(ev) != 0 {
		t.Errorf("another account sees %d events", len(ev))
	}
	wantErr(t, s.Record(ctx, first), store.ErrConflict)
	wantErr(t, s.Record(ctx, event(id(), keyhole.EventLoginFailed, t0)), store.ErrNotFound)
}

// testEventsRollBack: when the change fails, its events are not written,
// and an event that cannot be written undoes the change.
func testEventsRollBack(t *testing.T, s store.Store) {
	a, key := newAccount(t, s, "ada@example.com")
	err := s.DeleteAuthorization(ctx, id(), event(a.ID, keyhole.EventAuthorizationRevoke, t0))
	wantErr(t, err, store.ErrNotFound)
	dup := event(a.ID, keyhole.EventLoginFailed, t0)
	must(t, s.Record(ctx, dup))
	// The key's deletion carries an event whose id exists: nothing happens.
	err = s.DeleteAuthorization(ctx, key.ID, dup)
	wantErr(t, err, store.ErrConflict)
	if _, err := s.Authorization(ctx, key.ID); err != nil {
		t.Errorf("the authorization went though its event failed: %v", err)
	}
	c := keyhole.Client{ID: id(), AccountID: a.ID, Name: "App", RedirectURI: "https://app.example/cb", CreatedAt: t0, UpdatedAt: t0}
	wantErr(t, s.CreateClient(ctx, c, dup), store.ErrConflict)
	_, err = s.Client(ctx, c.ID)
	wantErr(t, err, store.ErrNotFound)
	_, err = s.UpdateAccount(ctx, a.ID, func(a *keyhole.Account) error { return errors.New("no") }, event(a.ID, keyhole.EventEmailChanged, t0))
	if err == nil || err.Error() != "no" {
		t.Errorf("UpdateAccount's fn error = %v", err)
	}
	if got := events(t, s, a.ID); len(got) != 1 {
		t.Errorf("events after failed changes: %v, want only the first", types(got))
	}
}

// testResetWithLink: a reset keeps the session named, uses the reset link
// once, and fails with ErrNotFound (writing nothing) for a used,
// expired or another account's link.
func testResetWithLink(t *testing.T, s store.Store) {
	a, _ := newAccount(t, s, "ada@example.com")
	b, _ := newAccount(t, s, "bob@example.com")
	browser := keyhole.Session{ID: id(), AccountID: a.ID, Hash: "h-" + id(), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	other := keyhole.Session{ID: id(), AccountID: a.ID, Hash: "h-" + id(), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	must(t, s.CreateSession(ctx, browser, 1, nil, nil))
	must(t, s.CreateSession(ctx, other, 1, nil, nil))
	link := keyhole.MailToken{Hash: "m-" + id(), AccountID: a.ID, Purpose: keyhole.MailReset, Email: a.Email, Version: 1, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	must(t, s.CreateMailToken(ctx, link))
	bobs := keyhole.MailToken{Hash: "m-" + id(), AccountID: b.ID, Purpose: keyhole.MailReset, Email: b.Email, Version: 1, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	must(t, s.CreateMailToken(ctx, bobs))

	changed := a
	changed.PasswordHash, changed.CredentialsVersion, changed.EmailVerified, changed.UpdatedAt = "$argon2id$reset", 2, true, t0.Add(time.Minute)
	for name, hash := range map[string]string{"unknown link": "m-nope", "another account's link": bobs.Hash} {
		_, err := s.ResetAccount(ctx, store.Reset{Account: changed, Version: 1, MailToken: hash})
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: err = %v, want ErrNotFound", name, err)
		}
	}
	late := changed
	late.UpdatedAt = t0.Add(2 * time.Hour)
	_, err := s.ResetAccount(ctx, store.Reset{Account: late, Version: 1, MailToken: link.Hash})
	wantErr(t, err, store.ErrNotFound)
	if got, _ := s.Account(ctx, a.ID); got.PasswordHash != a.PasswordHash {
		t.Fatal("a refused reset wrote the password")
	}
	_, err = s.ResetAccount(ctx, store.Reset{Account: changed, Version: 1, MailToken: link.Hash, KeepSession: browser.ID})
	must(t, err)
	got, _ := s.Account(ctx, a.ID)
	if got.PasswordHash != "$argon2id$reset" || !got.EmailVerified || got.CredentialsVersion != 2 {
		t.Errorf("after reset: %+v", got)
	}
	if _, err := s.Session(ctx, browser.ID); err != nil {
		t.Errorf("the kept session went: %v", err)
	}
	_, err = s.Session(ctx, other.ID)
	wantErr(t, err, store.ErrNotFound)
	used, err := s.MailToken(ctx, link.Hash)
	must(t, err)
	if !used.UsedAt.Equal(changed.UpdatedAt) {
		t.Errorf("link used at %v, want %v", used.UsedAt, changed.UpdatedAt)
	}
	again := changed
	again.CredentialsVersion = 3
	_, err = s.ResetAccount(ctx, store.Reset{Account: again, Version: 2, MailToken: link.Hash})
	wantErr(t, err, store.ErrNotFound)
}

func testMFA(t *testing.T, s store.Store) {
	a, _ := newAccount(t, s, "ada@example.com")
	_, err := s.MFASeed(ctx, a.ID)
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, s.DisableMFA(ctx, a.ID, t0), store.ErrConflict)
	wantErr(t, s.ReplaceRecoveryCodes(ctx, a.ID, []string{"x"}, t0), store.ErrConflict)
	wantErr(t, s.EnableMFA(ctx, id(), []byte("s"), nil, t0), store.ErrNotFound)

	seed := []byte{0, 1, 2, 255}
	must(t, s.EnableMFA(ctx, a.ID, seed, []string{"c1", "c2", "c3"}, t0.Add(time.Minute)))
	got, err := s.Account(ctx, a.ID)
	must(t, err)
	if !got.MFAEnabled || !got.UpdatedAt.Equal(t0.Add(time.Minute)) || got.CredentialsVersion != 2 {
		t.Errorf("after EnableMFA: %+v (want the credentials version moved on to 2)", got)
	}
	stored, err := s.MFASeed(ctx, a.ID)
	must(t, err)
	if !slices.Equal(stored, seed) {
		t.Errorf("MFASeed = %v, want %v", stored, seed)
	}
	wantErr(t, s.EnableMFA(ctx, a.ID, []byte("again"), nil, t0), store.ErrConflict)
	// An account update cannot turn MFA off.
	_, err = s.UpdateAccount(ctx, a.ID, func(a *keyhole.Account) error { a.MFAEnabled = false; return nil })
	must(t, err)
	if got, _ := s.Account(ctx, a.ID); !got.MFAEnabled {
		t.Error("UpdateAccount turned MFA off")
	}

	if n, err := s.RecoveryCodesLeft(ctx, a.ID); err != nil || n != 3 {
		t.Errorf("RecoveryCodesLeft = %d, %v; want 3", n, err)
	}
	must(t, s.UseRecoveryCode(ctx, a.ID, "c2", t0))
	wantErr(t, s.UseRecoveryCode(ctx, a.ID, "c2", t0), store.ErrNotFound)
	wantErr(t, s.UseRecoveryCode(ctx, a.ID, "nope", t0), store.ErrNotFound)
	b, _ := newAccount(t, s, "bob@example.com")
	wantErr(t, s.UseRecoveryCode(ctx, b.ID, "c1", t0), store.ErrNotFound)
	if n, _ := s.RecoveryCodesLeft(ctx, a.ID); n != 2 {
		t.Errorf("RecoveryCodesLeft after one use = %d, want 2", n)
	}
	must(t, s.ReplaceRecoveryCodes(ctx, a.ID, []string{"d1", "d2"}, t0))
	wantErr(t, s.UseRecoveryCode(ctx, a.ID, "c1", t0), store.ErrNotFound)
	must(t, s.UseRecoveryCode(ctx, a.ID, "d1", t0))

	// Steps are accepted in increasing order only: the same step and
	// every earlier one are refused once a step is used, per account.
	must(t, s.UseOTPStep(ctx, a.ID, 100, t0))
	wantErr(t, s.UseOTPStep(ctx, a.ID, 100, t0), store.ErrConflict)
	wantErr(t, s.UseOTPStep(ctx, a.ID, 99, t0), store.ErrConflict)
	must(t, s.UseOTPStep(ctx, a.ID, 101, t0))
	wantErr(t, s.UseOTPStep(ctx, a.ID, 100, t0), store.ErrConflict)
	must(t, s.UseOTPStep(ctx, a.ID, 103, t0))
	must(t, s.UseOTPStep(ctx, b.ID, 100, t0))
	wantErr(t, s.UseOTPStep(ctx, id(), 1, t0), store.ErrNotFound)

	must(t, s.DisableMFA(ctx, a.ID, t0.Add(2*time.Minute)))
	if got, _ := s.Account(ctx, a.ID); got.MFAEnabled || got.CredentialsVersion != 3 {
		t.Errorf("after DisableMFA: %+v (want MFA off, the credentials version moved on to 3)", got)
	}
	_, err = s.MFASeed(ctx, a.ID)
	wantErr(t, err, store.ErrNotFound)
	if n, _ := s.RecoveryCodesLeft(ctx, a.ID); n != 0 {
		t.Errorf("recovery codes left after disabling: %d", n)
	}
	// Used steps went with it: a new enrolment starts clean.
	must(t, s.UseOTPStep(ctx, a.ID, 100, t0))
}

func testConcurrentEnableMFA(t *testing.T, s store.Store) {
	a, _ := newAccount(t, s, "ada@example.com")
	errs := race(t, 20, func(i int) error {
		return s.EnableMFA(ctx, a.ID, []byte{byte(i)}, []string{fmt.Sprint("code-", i)}, t0)
	})
	if ok, conflict, other := count(errs); ok != 1 || conflict != 19 {
		t.Fatalf("20 concurrent enrolments: %d won, %d conflicts, %d other errors (%v)", ok, conflict, other, errs)
	}
	if n, _ := s.RecoveryCodesLeft(ctx, a.ID); n != 1 {
		t.Errorf("recovery codes after the race: %d, want the winner's one", n)
	}
}

func testConcurrentRecoveryCode(t *testing.T, s store.Store) {
	a, _ := newAccount(t, s, "ada@example.com")
	must(t, s.EnableMFA(ctx, a.ID, []byte("s"), []string{"code"}, t0))
	errs := race(t, 20, func(i int) error {
		err := s.UseRecoveryCode(ctx, a.ID, "code", t0, event(a.ID, keyhole.EventRecoveryCodeUsed, t0))
		if errors.Is(err, store.ErrNotFound) {
			return store.ErrConflict // counted as the losers
		}
		return err
	})
	if ok, lost, other := count(errs); ok != 1 || lost != 19 {
		t.Fatalf("20 concurrent uses of one recovery code: %d won, %d lost, %d other errors (%v)", ok, lost, other, errs)
	}
	if got := events(t, s, a.ID); len(got) != 1 {
		t.Errorf("%d events recorded for one use", len(got))
	}
}

func testConcurrentOTPStep(t *testing.T, s store.Store) {
	a, _ := newAccount(t, s, "ada@example.com")
	errs := race(t, 20, func(int) error { return s.UseOTPStep(ctx, a.ID, 56789, t0) })
	if ok, conflict, other := count(errs); ok != 1 || conflict != 19 {
		t.Fatalf("20 concurrent uses of one step: %d won, %d conflicts, %d other errors (%v)", ok, conflict, other, errs)
	}
	// Half present the step before, half the step after: the later step
	// is accepted exactly once, the earlier at most once (only if it came
	// first), and nothing is accepted after the later one.
	errs = race(t, 20, func(i int) error { return s.UseOTPStep(ctx, a.ID, 56800+int64(i%2), t0) })
	var early, late int
	for i, err := range errs {
		switch {
		case err == nil && i%2 == 0:
			early++
		case err == nil:
			late++
		case !errors.Is(err, store.ErrConflict):
			t.Fatalf("use %d: %v", i, err)
		}
	}
	if late != 1 || early > 1 {
		t.Fatalf("20 concurrent uses of two steps: the later accepted %d times, the earlier %d (want 1 and at most 1)", late, early)
	}
	wantErr(t, s.UseOTPStep(ctx, a.ID, 56800, t0), store.ErrConflict)
}

func testMailTokens(t *testing.T, s store.Store) {
	a, _ := newAccount(t, s, "ada@example.com")
	b, _ := newAccount(t, s, "bob@example.com")
	if got, _ := s.Account(ctx, a.ID); got.EmailVerified {
		t.Fatal("a new account is verified")
	}
	verify := keyhole.MailToken{Hash: "m-" + id(), AccountID: a.ID, Purpose: keyhole.MailVerify, Email: a.Email, Version: 1, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	must(t, s.CreateMailToken(ctx, verify))
	wantErr(t, s.CreateMailToken(ctx, verify), store.ErrConflict)
	wantErr(t, s.CreateMailToken(ctx, keyhole.MailToken{Hash: "m-" + id(), AccountID: id(), Purpose: keyhole.MailVerify, CreatedAt: t0, ExpiresAt: t0}), store.ErrNotFound)
	got, err := s.MailToken(ctx, verify.Hash)
	must(t, err)
	if got != verify {
		t.Errorf("MailToken = %+v, want %+v", got, verify)
	}
	_, err = s.MailToken(ctx, "nope")
	wantErr(t, err, store.ErrNotFound)

	// A reset link does not verify, nor does an expired one.
	reset := keyhole.MailToken{Hash: "m-" + id(), AccountID: a.ID, Purpose: keyhole.MailReset, Email: a.Email, Version: 1, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	must(t, s.CreateMailToken(ctx, reset))
	_, err = s.VerifyEmail(ctx, reset.Hash, t0)
	wantErr(t, err, store.ErrNotFound)
	_, err = s.VerifyEmail(ctx, verify.Hash, t0.Add(time.Hour))
	wantErr(t, err, store.ErrNotFound)

	acct, err := s.VerifyEmail(ctx, verify.Hash, t0.Add(time.Minute), event(a.ID, keyhole.EventEmailVerified, t0))
	must(t, err)
	if !acct.EmailVerified || acct.Email != a.Email || acct.CredentialsVersion != 1 || !acct.UpdatedAt.Equal(a.UpdatedAt) {
		t.Errorf("after verifying the same address: %+v", acct)
	}
	_, err = s.VerifyEmail(ctx, verify.Hash, t0.Add(time.Minute))
	wantErr(t, err, store.ErrNotFound)

	// An email change takes effect with its link and moves the
	// credentials on; an address taken meanwhile conflicts, using nothing.
	change := keyhole.MailToken{Hash: "m-" + id(), AccountID: a.ID, Purpose: keyhole.MailVerify, Email: "ada@new.example", Version: 1, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	taken := keyhole.MailToken{Hash: "m-" + id(), AccountID: a.ID, Purpose: keyhole.MailVerify, Email: "BOB@example.com", Version: 1, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	must(t, s.CreateMailToken(ctx, change))
	must(t, s.CreateMailToken(ctx, taken))
	_, err = s.VerifyEmail(ctx, taken.Hash, t0.Add(time.Minute))
	wantErr(t, err, store.ErrConflict)
	if got, _ := s.MailToken(ctx, taken.Hash); !got.UsedAt.IsZero() {
		t.Error("a conflicting verification used its link")
	}
	acct, err = s.VerifyEmail(ctx, change.Hash, t0.Add(2*time.Minute))
	must(t, err)
	if acct.Email != "ada@new.example" || acct.CredentialsVersion != 2 || !acct.UpdatedAt.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("after the change: %+v", acct)
	}
	if got, err := s.AccountByEmail(ctx, "ADA@NEW.example"); err != nil || got.ID != a.ID {
		t.Errorf("AccountByEmail(new) = %v, %v", got.ID, err)
	}
	if got, _ := s.Account(ctx, b.ID); got.Email != "bob@example.com" {
		t.Errorf("bob changed: %+v", got)
	}
}

func testConcurrentVerifyEmail(t *testing.T, s store.Store) {
	a, _ := newAccount(t, s, "ada@example.com")
	link := keyhole.MailToken{Hash: "m-" + id(), AccountID: a.ID, Purpose: keyhole.MailVerify, Email: "ada@new.example", Version: 1, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	must(t, s.CreateMailToken(ctx, link))
	errs := race(t, 20, func(int) error {
		_, err := s.VerifyEmail(ctx, link.Hash, t0, event(a.ID, keyhole.EventEmailChanged, t0))
		if errors.Is(err, store.ErrNotFound) {
			return store.ErrConflict
		}
		return err
	})
	if ok, lost, other := count(errs); ok != 1 || lost != 19 {
		t.Fatalf("20 concurrent uses of one link: %d won, %d lost, %d other errors (%v)", ok, lost, other, errs)
	}
	if got, _ := s.Account(ctx, a.ID); got.CredentialsVersion != 2 {
		t.Errorf("credentials version = %d, want 2 (moved on once)", got.CredentialsVersion)
	}
	if got := events(t, s, a.ID); len(got) != 1 {
		t.Errorf("%d events for one change", len(got))
	}
}

func testTouchAndReauth(t *testing.T, s store.Store) {
	a, key := newAccount(t, s, "ada@example.com")
	sess := keyhole.Session{ID: id(), AccountID: a.ID, Hash: "h-" + id(), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	must(t, s.CreateSession(ctx, sess, 1, nil, nil))
	got, _ := s.Session(ctx, sess.ID)
	if !got.LastSeenAt.IsZero() || !got.ReauthAt.IsZero() {
		t.Fatalf("new session: %+v", got)
	}
	must(t, s.TouchSession(ctx, sess.ID, t0.Add(time.Minute), time.Minute))
	must(t, s.TouchSession(ctx, sess.ID, t0.Add(90*time.Second), time.Minute)) // too soon: kept
	got, _ = s.Session(ctx, sess.ID)
	if !got.LastSeenAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("LastSeenAt = %v, want %v", got.LastSeenAt, t0.Add(time.Minute))
	}
	must(t, s.TouchSession(ctx, sess.ID, t0.Add(2*time.Minute), time.Minute))
	got, _ = s.Session(ctx, sess.ID)
	if !got.LastSeenAt.Equal(t0.Add(2 * time.Minute)) {
		t.Errorf("LastSeenAt = %v, want %v", got.LastSeenAt, t0.Add(2*time.Minute))
	}
	must(t, s.TouchSession(ctx, id(), t0, time.Minute))

	must(t, s.Reauthenticated(ctx, sess.ID, t0.Add(3*time.Minute)))
	if got, _ := s.SessionByHash(ctx, sess.Hash); !got.ReauthAt.Equal(t0.Add(3 * time.Minute)) {
		t.Errorf("ReauthAt = %v", got.ReauthAt)
	}
	wantErr(t, s.Reauthenticated(ctx, id(), t0), store.ErrNotFound)

	must(t, s.TouchAuthorization(ctx, key.ID, t0.Add(time.Minute), time.Minute))
	must(t, s.TouchAuthorization(ctx, key.ID, t0.Add(61*time.Second), time.Minute))
	auth, err := s.Authorization(ctx, key.ID)
	must(t, err)
	if !auth.LastUsedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("LastUsedAt = %v, want %v", auth.LastUsedAt, t0.Add(time.Minute))
	}
	tokens, _ := s.Tokens(ctx, key.ID)
	if _, a2, err := s.TokenByHash(ctx, tokens[0].Hash); err != nil || !a2.LastUsedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("TokenByHash's authorization LastUsedAt = %v, %v", a2.LastUsedAt, err)
	}
	if list, _ := s.ListAuthorizations(ctx, a.ID, store.Range{}); len(list) != 1 || !list[0].LastUsedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("ListAuthorizations = %+v", list)
	}
}

func testPeopleSweeps(t *testing.T, s store.Store) {
	a, _ := newAccount(t, s, "ada@example.com")
	for i := range 3 {
		at := t0.Add(time.Duration(i) * time.Hour)
		must(t, s.Record(ctx, event(a.ID, keyhole.EventLoginFailed, at)))
		must(t, s.CreateMailToken(ctx, keyhole.MailToken{Hash: fmt.Sprint("m-", i), AccountID: a.ID, Purpose: keyhole.MailReset, Email: a.Email, CreatedAt: at, ExpiresAt: at}))
	}
	before := t0.Add(time.Hour)
	for name, del := range map[string]func() (int64, error){
		"events":      func() (int64, error) { return s.DeleteExpiredEvents(ctx, before, 1) },
		"mail tokens": func() (int64, error) { return s.DeleteExpiredMailTokens(ctx, before, 1) },
	} {
		var total int64
		for range 3 {
			n, err := del()
			must(t, err)
			if n > 1 {
				t.Errorf("%s: one batch deleted %d, over its limit of 1", name, n)
			}
			total += n
		}
		if total != 2 {
			t.Errorf("%s: swept %d, want the 2 at or before the cut", name, total)
		}
	}
	if got := events(t, s, a.ID); len(got) != 1 || !got[0].CreatedAt.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("events left: %+v", got)
	}
	if _, err := s.MailToken(ctx, "m-2"); err != nil {
		t.Errorf("the live link was swept: %v", err)
	}
}
