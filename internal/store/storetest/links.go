package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

// version reads the account's credentials version.
func version(t *testing.T, s store.Store, accountID string) int64 {
	t.Helper()
	a, err := s.Account(ctx, accountID)
	must(t, err)
	return a.CredentialsVersion
}

// links makes an email-change link and a reset link of the account at its
// current credentials version.
func links(t *testing.T, s store.Store, a keyhole.Account) (change, reset keyhole.MailToken) {
	t.Helper()
	v := version(t, s, a.ID)
	change = keyhole.MailToken{Hash: "m-" + id(), AccountID: a.ID, Purpose: keyhole.MailVerify, Email: "new-" + id() + "@example.com", Version: v, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	reset = keyhole.MailToken{Hash: "m-" + id(), AccountID: a.ID, Purpose: keyhole.MailReset, Email: a.Email, Version: v, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	must(t, s.CreateMailToken(ctx, change))
	must(t, s.CreateMailToken(ctx, reset))
	return change, reset
}

// useReset tries the reset link at the account's current version.
func useReset(s store.Store, a keyhole.Account, hash string, v int64) error {
	changed := a
	changed.PasswordHash, changed.CredentialsVersion, changed.UpdatedAt = "$argon2id$reset-"+hash, v+1, t0.Add(time.Minute)
	_, err := s.ResetAccount(ctx, store.Reset{Account: changed, Version: v, MailToken: hash})
	return err
}

// testMailLinksEnd: every change that moves the credentials version on
// ends the email-change and reset links mailed before it, whichever way
// they would be used; links made after it work.
func testMailLinksEnd(t *testing.T, s store.Store) {
	causes := []struct {
		name  string
		cause func(t *testing.T, a keyhole.Account)
	}{
		{"password change", func(t *testing.T, a keyhole.Account) {
			v := version(t, s, a.ID)
			changed := a
			changed.PasswordHash, changed.CredentialsVersion, changed.UpdatedAt = "$argon2id$changed", v+1, t0
			_, err := s.ResetAccount(ctx, store.Reset{Account: changed, Version: v})
			must(t, err)
		}},
		{"password reset", func(t *testing.T, a keyhole.Account) {
			other := keyhole.MailToken{Hash: "m-" + id(), AccountID: a.ID, Purpose: keyhole.MailReset, Email: a.Email, Version: version(t, s, a.ID), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
			must(t, s.CreateMailToken(ctx, other))
			must(t, useReset(s, a, other.Hash, version(t, s, a.ID)))
		}},
		{"email change", func(t *testing.T, a keyhole.Account) {
			other := keyhole.MailToken{Hash: "m-" + id(), AccountID: a.ID, Purpose: keyhole.MailVerify, Email: "moved-" + id() + "@example.com", Version: version(t, s, a.ID), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
			must(t, s.CreateMailToken(ctx, other))
			_, err := s.VerifyEmail(ctx, other.Hash, t0)
			must(t, err)
		}},
		{"another email change request", func(t *testing.T, a keyhole.Account) {
			v := version(t, s, a.ID)
			next := keyhole.MailToken{Hash: "m-" + id(), AccountID: a.ID, Purpose: keyhole.MailVerify, Email: "next@example.com", Version: v + 1, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
			must(t, s.RequestEmailChange(ctx, a.ID, v, &next))
		}},
		{"two-factor on", func(t *testing.T, a keyhole.Account) {
			must(t, s.EnableMFA(ctx, a.ID, []byte("seed"), []string{"c"}, t0))
		}},
		{"two-factor off", func(t *testing.T, a keyhole.Account) {
			must(t, s.DisableMFA(ctx, a.ID, t0))
		}},
		{"every other session ended", func(t *testing.T, a keyhole.Account) {
			_, err := s.DeleteOtherSessions(ctx, a.ID, "")
			must(t, err)
		}},
	}
	for _, c := range causes {
		t.Run(c.name, func(t *testing.T) {
			a, _ := newAccount(t, s, id()+"@example.com")
			if c.name == "two-factor off" {
				must(t, s.EnableMFA(ctx, a.ID, []byte("seed"), nil, t0))
			}
			a, err := s.Account(ctx, a.ID)
			must(t, err)
			change, reset := links(t, s, a)
			c.cause(t, a)
			a, err = s.Account(ctx, a.ID)
			must(t, err)
			_, err = s.VerifyEmail(ctx, change.Hash, t0.Add(time.Minute))
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("the email-change link made before: err = %v, want ErrNotFound", err)
			}
			if err := useReset(s, a, reset.Hash, a.CredentialsVersion); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("the reset link made before: err = %v, want ErrNotFound", err)
			}
			if got, _ := s.Account(ctx, a.ID); got.Email != a.Email || got.PasswordHash != a.PasswordHash {
				t.Errorf("a dead link changed the account: %+v", got)
			}
			// Links made at the new version work (each moves the version
			// on when used: the next is made after).
			change, _ = links(t, s, a)
			if _, err := s.VerifyEmail(ctx, change.Hash, t0.Add(time.Minute)); err != nil {
				t.Errorf("a link made after: %v", err)
			}
			_, reset = links(t, s, a)
			if err := useReset(s, a, reset.Hash, version(t, s, a.ID)); err != nil {
				t.Errorf("a reset link made after: %v", err)
			}
		})
	}
	// A link of the account is not ended by a change of another account.
	a, _ := newAccount(t, s, "ada@example.com")
	b, _ := newAccount(t, s, "bob@example.com")
	change, _ := links(t, s, a)
	must(t, s.EnableMFA(ctx, b.ID, []byte("seed"), nil, t0))
	if _, err := s.VerifyEmail(ctx, change.Hash, t0); err != nil {
		t.Errorf("another account's change ended the link: %v", err)
	}
}

func testRequestEmailChange(t *testing.T, s store.Store) {
	a, _ := newAccount(t, s, "ada@example.com")
	link := keyhole.MailToken{Hash: "m-" + id(), AccountID: a.ID, Purpose: keyhole.MailVerify, Email: "ada@new.example", Version: 2, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	// Checked against a version that is not the account's: nothing written.
	wantErr(t, s.RequestEmailChange(ctx, a.ID, 7, &link, event(a.ID, keyhole.EventEmailChangeAsked, t0)), store.ErrStale)
	if _, err := s.MailToken(ctx, link.Hash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a stale request stored its link: %v", err)
	}
	if v := version(t, s, a.ID); v != 1 {
		t.Errorf("a stale request moved the version to %d", v)
	}
	if ev := events(t, s, a.ID); len(ev) != 0 {
		t.Errorf("a stale request recorded %d events", len(ev))
	}
	wantErr(t, s.RequestEmailChange(ctx, id(), 1, nil), store.ErrNotFound)

	must(t, s.RequestEmailChange(ctx, a.ID, 1, &link, event(a.ID, keyhole.EventEmailChangeAsked, t0)))
	if v := version(t, s, a.ID); v != 2 {
		t.Errorf("version = %d, want 2", v)
	}
	got, err := s.MailToken(ctx, link.Hash)
	must(t, err)
	if got != link {
		t.Errorf("MailToken = %+v, want %+v", got, link)
	}
	if ev := events(t, s, a.ID); len(ev) != 1 || ev[0].Type != keyhole.EventEmailChangeAsked {
		t.Errorf("events = %v", types(ev))
	}
	// The same hash again conflicts, writing nothing.
	wantErr(t, s.RequestEmailChange(ctx, a.ID, 2, &link), store.ErrConflict)
	if v := version(t, s, a.ID); v != 2 {
		t.Errorf("a conflicting request moved the version to %d", v)
	}
	// Without a link (the address is another account's), only the version moves.
	must(t, s.RequestEmailChange(ctx, a.ID, 2, nil))
	if v := version(t, s, a.ID); v != 3 {
		t.Errorf("version = %d, want 3", v)
	}
	if _, err := s.VerifyEmail(ctx, link.Hash, t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the earlier change's link works after another request: %v", err)
	}
}

// testConcurrentLinkUse: 20 uses of one reset link at once, and 20 of one
// email-change link racing 20 password changes, let exactly one use
// through and leave the account consistent.
func testConcurrentLinkUse(t *testing.T, s store.Store) {
	a, _ := newAccount(t, s, "ada@example.com")
	_, reset := links(t, s, a)
	errs := race(t, 20, func(int) error {
		err := useReset(s, a, reset.Hash, 1)
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrStale) {
			return store.ErrConflict
		}
		return err
	})
	if ok, lost, other := count(errs); ok != 1 || lost != 19 {
		t.Fatalf("20 concurrent uses of one reset link: %d won, %d lost, %d other errors (%v)", ok, lost, other, errs)
	}
	if v := version(t, s, a.ID); v != 2 {
		t.Errorf("version = %d, want 2 (moved on once)", v)
	}

	// An email-change link racing a password change: either the change
	// commits first (the link is dead) or the link (then the change meets
	// a moved version); never both against the same version.
	b, _ := newAccount(t, s, "bob@example.com")
	change, _ := links(t, s, b)
	errs = race(t, 2, func(i int) error {
		if i == 0 {
			_, err := s.VerifyEmail(ctx, change.Hash, t0)
			return err
		}
		changed := b
		changed.PasswordHash, changed.CredentialsVersion, changed.UpdatedAt = "$argon2id$changed", 2, t0
		_, err := s.ResetAccount(ctx, store.Reset{Account: changed, Version: 1})
		return err
	})
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("an email change and a password change against one version: %v, %v (want exactly one through)", errs[0], errs[1])
	}
}
