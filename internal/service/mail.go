package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/mail"
	"github.com/keyhole/keyhole/internal/store"
	"github.com/keyhole/keyhole/internal/token"
)

// Lifetimes of mailed links.
const (
	VerifyLinkTTL = 24 * time.Hour
	ResetLinkTTL  = time.Hour
)

// Paths of the pages mailed links open; the web surface serves them.
const (
	VerifyPath = "/email/verify"
	ResetPath  = "/password/reset"
	ForgotPath = "/password/forgot"
)

// send queues a mail. The queue logs what it cannot deliver (address and
// subject, never the body, which may hold a link).
func (s *Service) send(ctx context.Context, to, subject, body string) {
	_ = s.mail.Send(ctx, mail.Message{To: to, Subject: subject, Body: body + "\n\n-- \nKeyhole, " + s.issuer + "\n"})
}

// notify mails a security notice about a change to the account.
func (s *Service) notify(ctx context.Context, to, subject string, o Origin, what string) {
	var b strings.Builder
	b.WriteString(what + "\n\n")
	fmt.Fprintf(&b, "When: %s\n", s.clock().Format("2 January 2006, 15:04 MST"))
	if o.IP != "" {
		fmt.Fprintf(&b, "From: %s\n", o.IP)
	}
	if o.UserAgent != "" {
		fmt.Fprintf(&b, "Browser or program: %s\n", clipText(o.UserAgent, 120))
	}
	b.WriteString("\nIf this was you, there is nothing to do. If it was not, reset your password at once:\n")
	b.WriteString(s.issuer + ForgotPath + "\n")
	b.WriteString("and look at your account's activity: " + s.issuer + "/dashboard/activity")
	s.send(ctx, to, "Keyhole: "+subject, b.String())
}

// Mailed links end with the credentials version they were made at: a
// link works only while its account is still at that version, and every
// change that must end outstanding links moves the version on, in the
// same transaction as the change (see keyhole.Account.CredentialsVersion
// for the list: password changed or reset, email changed or a change
// asked for, two-factor turned on or off, every other session ended).
// liveLink checks the version before a link's page is shown, and the
// store checks it again, atomically, when the link is used.

// newLink makes a mailed link of the account, bound to its credentials
// version: the secret in clear for the mail, the row that keeps its hash.
func (s *Service) newLink(accountID string, purpose keyhole.MailPurpose, email string, version int64) (keyhole.MailToken, string) {
	typ, path, ttl := token.EmailLink, VerifyPath, VerifyLinkTTL
	if purpose == keyhole.MailReset {
		typ, path, ttl = token.ResetLink, ResetPath, ResetLinkTTL
	}
	raw := token.New(typ)
	now := s.clock()
	t := keyhole.MailToken{Hash: token.Hash(raw.Reveal()), AccountID: accountID, Purpose: purpose, Email: email, Version: version, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	return t, s.issuer + path + "?token=" + raw.Reveal()
}

// sendVerification mails a link that confirms the address of a new
// account.
func (s *Service) sendVerification(ctx context.Context, a keyhole.Account) error {
	t, link := s.newLink(a.ID, keyhole.MailVerify, a.Email, a.CredentialsVersion)
	if err := s.store.CreateMailToken(ctx, t); err != nil {
		return storeErr(err, "account")
	}
	email := a.Email
	s.send(ctx, email, "Keyhole: confirm your email address",
		"Welcome to Keyhole. To finish signing up, confirm your email address by opening this link within 24 hours:\n"+link+"\n\n"+
			"If you did not sign up, ignore this mail: the account stays unusable without the link.")
	return nil
}

// SignUp is a person signing up on the sign-up page. It answers the same
// way whether or not the address already has an account, so that nobody
// can learn which addresses do: a new account gets a verification link;
// an existing, verified one a mail saying that someone tried (and how to
// reset the password); an existing one never verified, a fresh link. The
// password is hashed in every case, so that the answer takes as long.
// Invalid for unacceptable input, RateLimited after too many sign-ups for
// the email or from the address.
func (s *Service) SignUp(ctx context.Context, in NewAccount) error {
	a, err := s.newAccount(ctx, in, false)
	if err == nil {
		s.log.InfoContext(ctx, "account signed up", "account_id", a.ID)
		return s.sendVerification(ctx, a)
	}
	if keyhole.ErrorCode(err) != keyhole.Conflict {
		return err
	}
	existing, err := s.store.AccountByEmail(ctx, strings.TrimSpace(in.Email))
	if err != nil {
		if isNotFound(err) { // deleted meanwhile
			return nil
		}
		return storeErr(err, "account")
	}
	if !existing.EmailVerified {
		return s.sendVerification(ctx, existing)
	}
	s.send(ctx, existing.Email, "Keyhole: someone tried to sign up with your address",
		"Someone (perhaps you) tried to sign up to Keyhole with this email address, which already has an account. Nothing was changed.\n\n"+
			"If it was you and you forgot your password, reset it here:\n"+s.issuer+ForgotPath+"\n\n"+
			"Otherwise, ignore this mail.")
	return nil
}

// requestEmailChange asks for the account's email to become email: it
// ends every link mailed before (moving the credentials version on) and
// mails a link that confirms the change to the new address, and a notice
// to the current one, which is told at once. When another account has the
// address, nothing is mailed to it but a notice to its owner, and the
// answer is the same, so that nobody learns which addresses have an
// account.
func (s *Service) requestEmailChange(ctx context.Context, a keyhole.Account, email string, o Origin) error {
	other, err := s.store.AccountByEmail(ctx, email)
	if err != nil && !isNotFound(err) {
		return storeErr(err, "account")
	}
	taken := err == nil && other.ID != a.ID
	var t *keyhole.MailToken
	var link string
	if !taken {
		lt, l := s.newLink(a.ID, keyhole.MailVerify, email, a.CredentialsVersion+1)
		t, link = &lt, l
	}
	ev := s.event(a.ID, keyhole.EventEmailChangeAsked, o, "", a.Email+" → "+email)
	if err := s.store.RequestEmailChange(ctx, a.ID, a.CredentialsVersion, t, ev); err != nil {
		return storeErr(err, "account")
	}
	s.log.InfoContext(ctx, "email change requested", "account_id", a.ID)
	if taken {
		s.send(ctx, other.Email, "Keyhole: someone tried to move another account to your address",
			"Someone (perhaps you) asked to change the email address of another Keyhole account to this one, which already has an account. Nothing was changed, and no account was moved to this address.\n\n"+
				"If you did not ask for this, there is nothing to do. Your own account is unchanged.")
	} else {
		s.send(ctx, email, "Keyhole: confirm your new email address",
			"Someone (we hope you) asked to change the email address of a Keyhole account to this one.\n\n"+
				"To confirm the change, open this link within 24 hours:\n"+link+"\n\n"+
				"If you did not ask for this, ignore this mail: nothing changes until the link is opened.")
	}
	s.notify(ctx, a.Email, "a change of your email address was asked for", o,
		"Someone asked to change the email address of your Keyhole account to "+email+". Nothing changes until the link mailed to that address is opened, within 24 hours; changing or resetting your password ends that link.")
	return nil
}

var errLink = keyhole.Errorf(keyhole.Invalid, "This link does not work: it was used already, it has expired, or it was copied incompletely. Ask for a new one.")

// liveLink finds the mailed link raw of the purpose and its account, if
// the link can still be used: unused, unexpired, and made at the
// account's current credentials version (so a reset link works only for
// the address it was mailed to: an email change moves the version on).
func (s *Service) liveLink(ctx context.Context, raw string, purpose keyhole.MailPurpose) (keyhole.MailToken, keyhole.Account, error) {
	fail := func(err error) (keyhole.MailToken, keyhole.Account, error) {
		return keyhole.MailToken{}, keyhole.Account{}, err
	}
	want := map[keyhole.MailPurpose]token.Type{keyhole.MailVerify: token.EmailLink, keyhole.MailReset: token.ResetLink}[purpose]
	if typ, err := token.Parse(raw); err != nil || typ != want {
		return fail(errLink)
	}
	t, err := s.store.MailToken(ctx, token.Hash(raw))
	if err != nil {
		if isNotFound(err) {
			return fail(errLink)
		}
		return fail(storeErr(err, "link"))
	}
	if t.Purpose != purpose || !t.UsedAt.IsZero() || !t.ExpiresAt.After(s.clock()) {
		return fail(errLink)
	}
	a, err := s.store.Account(ctx, t.AccountID)
	if err != nil {
		if isNotFound(err) {
			return fail(errLink)
		}
		return fail(storeErr(err, "account"))
	}
	if a.CredentialsVersion != t.Version {
		return fail(errLink)
	}
	return t, a, nil
}

// CheckEmailLink tells whether a verification link still works, and the
// address it confirms, so that its page can say so before the person
// confirms.
func (s *Service) CheckEmailLink(ctx context.Context, raw string) (string, error) {
	t, _, err := s.liveLink(ctx, raw, keyhole.MailVerify)
	return t.Email, err
}

// VerifyEmail uses a verification link: the account's address is
// confirmed, or, for an email change, changed (moving the credentials
// version on, so that sign-ins checked against the old address fail), and
// the old address gets a notice. Invalid for a dead link; Conflict when
// another account took the address meanwhile.
func (s *Service) VerifyEmail(ctx context.Context, raw string, o Origin) (keyhole.Account, error) {
	t, before, err := s.liveLink(ctx, raw, keyhole.MailVerify)
	if err != nil {
		return keyhole.Account{}, err
	}
	ev := s.event(before.ID, keyhole.EventEmailVerified, o, "", t.Email)
	changed := before.Email != t.Email
	if changed {
		ev = s.event(before.ID, keyhole.EventEmailChanged, o, "", before.Email+" → "+t.Email)
	}
	a, err := s.store.VerifyEmail(ctx, t.Hash, s.clock(), ev)
	switch {
	case isNotFound(err):
		return keyhole.Account{}, errLink
	case errors.Is(err, store.ErrConflict):
		return keyhole.Account{}, &keyhole.Error{Code: keyhole.Conflict, Message: "Another account uses this address now.", Err: err}
	case err != nil:
		return keyhole.Account{}, storeErr(err, "account")
	}
	if changed {
		s.notify(ctx, before.Email, "your email address was changed", o,
			"The email address of your Keyhole account was changed from "+before.Email+" to "+a.Email+". Mail about the account now goes to the new address.")
	}
	return a, nil
}

// RequestPasswordReset mails a reset link, valid ResetLinkTTL, to the
// account with the email, if there is one; the answer is the same either
// way. Every request spends the email's and the address's budgets
// (RateLimited when spent). Invalid for a malformed address.
func (s *Service) RequestPasswordReset(ctx context.Context, email string, o Origin) error {
	email, err := normalizeEmail(email)
	if err != nil {
		return err
	}
	if _, err := s.throttles.reset.reserve(ctx, email, o.IP); err != nil {
		return err
	}
	a, err := s.store.AccountByEmail(ctx, email)
	if err != nil {
		if isNotFound(err) {
			return nil
		}
		return storeErr(err, "account")
	}
	t, link := s.newLink(a.ID, keyhole.MailReset, a.Email, a.CredentialsVersion)
	if err := s.store.CreateMailToken(ctx, t); err != nil {
		return storeErr(err, "account")
	}
	s.send(ctx, a.Email, "Keyhole: reset your password",
		"Someone (we hope you) asked to reset the password of your Keyhole account.\n\n"+
			"To choose a new password, open this link within an hour:\n"+link+"\n\n"+
			"A reset signs you out everywhere and revokes every application's access, as a password change does.\n"+
			"If you did not ask for this, ignore this mail: your password stays as it is.")
	return nil
}

// ResetLink tells whether a reset link still works and whether its
// account needs a two-factor code with the new password.
func (s *Service) ResetLink(ctx context.Context, raw string) (needsCode bool, err error) {
	_, a, err := s.liveLink(ctx, raw, keyhole.MailReset)
	if err != nil {
		return false, err
	}
	return a.MFAEnabled, nil
}

// PasswordReset is the answer to a reset link.
type PasswordReset struct {
	Token, NewPassword string
	// Code is a one-time or recovery code, for an account with MFA: a
	// mailbox alone does not get past a second factor.
	Code string
	Origin
}

// ResetPassword sets a new password with a reset link, used once. Like a
// password change it revokes every session and authorization of the
// account and gives it a new API key; the address counts as verified,
// and a notice is mailed.
func (s *Service) ResetPassword(ctx context.Context, in PasswordReset) error {
	t, cur, err := s.liveLink(ctx, in.Token, keyhole.MailReset)
	if err != nil {
		return err
	}
	if err := checkPassword(in.NewPassword, cur.Email, cur.Name); err != nil {
		return keyhole.Errorf(keyhole.Invalid, "%s", err.Error())
	}
	if cur.MFAEnabled {
		if err := s.secondFactor(ctx, cur, in.Code, in.Origin); err != nil {
			return dashboardCodeErr(err)
		}
	}
	hash, err := s.hashPassword(ctx, in.NewPassword)
	if err != nil {
		return err
	}
	a := cur
	a.PasswordHash, a.EmailVerified, a.CredentialsVersion, a.UpdatedAt = hash, true, cur.CredentialsVersion+1, s.clock()
	key, tokens := s.apiKey(a.ID, a.UpdatedAt)
	n, err := s.store.ResetAccount(ctx, store.Reset{
		Account: a, Version: cur.CredentialsVersion, Key: key, Tokens: tokens, MailToken: t.Hash,
		Events: []keyhole.Event{s.event(a.ID, keyhole.EventPasswordReset, in.Origin, "", "")},
	})
	switch {
	case isNotFound(err), errors.Is(err, store.ErrStale):
		// The link was used meanwhile, or the credentials moved on.
		return errLink
	case err != nil:
		return accountErr(err)
	}
	s.log.InfoContext(ctx, "password reset", "account_id", a.ID, "revoked_authorizations", n)
	s.notify(ctx, a.Email, "your password was reset", in.Origin,
		"The password of your Keyhole account was reset with a link sent to this address. Every session and application was signed out.")
	return nil
}
