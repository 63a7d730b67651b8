package service

import (
	"context"
	"errors"
	"net/mail"
	"strings"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/secret"
	"github.com/keyhole/keyhole/internal/store"
)

const maxEmailLen = 254

// NewAccount is the input to CreateAccount.
type NewAccount struct {
	Email    string
	Name     string
	Password string
	// IP is where the sign-up comes from, for its throttle; "" for the
	// command line.
	IP string
}

// CreateAccount makes an account for an administrator (the command line,
// tests): its address counts as verified. Invalid if the email, name or
// password is unacceptable (a weak password is, with the reason);
// Conflict if the email is taken; RateLimited after too many sign-ups for
// the email or from the address.
func (s *Service) CreateAccount(ctx context.Context, in NewAccount) (keyhole.Account, error) {
	a, err := s.newAccount(ctx, in, true)
	if err == nil {
		s.log.InfoContext(ctx, "account created", "account_id", a.ID)
	}
	return a, err
}

// newAccount checks and stores a new account with its API key.
func (s *Service) newAccount(ctx context.Context, in NewAccount, verified bool) (keyhole.Account, error) {
	email, err := normalizeEmail(in.Email)
	if err != nil {
		return keyhole.Account{}, err
	}
	var problems []string
	if err := checkText("Name", in.Name, maxNameLen, false); err != nil {
		problems = append(problems, err.Error())
	}
	if err := checkPassword(in.Password, email, in.Name); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return keyhole.Account{}, keyhole.Errorf(keyhole.Invalid, "%s", strings.Join(problems, " "))
	}
	if in.IP != "" {
		if _, err := s.throttles.signup.reserve(ctx, email, in.IP); err != nil {
			return keyhole.Account{}, err
		}
	}
	hash, err := s.hashPassword(ctx, in.Password)
	if err != nil {
		return keyhole.Account{}, err
	}
	now := s.clock()
	a := keyhole.Account{
		ID: newID(), Email: email, Name: strings.TrimSpace(in.Name), PasswordHash: hash, EmailVerified: verified,
		CredentialsVersion: 1, CreatedAt: now, UpdatedAt: now,
	}
	key, tokens := s.apiKey(a.ID, now)
	if err := s.store.CreateAccount(ctx, a, key, tokens); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return keyhole.Account{}, &keyhole.Error{Code: keyhole.Conflict, Message: "An account with that email already exists.", Err: err}
		}
		return keyhole.Account{}, storeErr(err, "account")
	}
	return a, nil
}

// Account returns the actor's own account. Forbidden for a client acting
// as itself.
func (s *Service) Account(ctx context.Context, actor Actor) (keyhole.Account, error) {
	if err := actor.NeedAccount(); err != nil {
		return keyhole.Account{}, err
	}
	a, err := s.store.Account(ctx, actor.AccountID)
	return a, storeErr(err, "account")
}

// AccountUpdate is the input to UpdateAccount. Nil fields are left alone.
// Changing the email or the password needs CurrentPassword.
type AccountUpdate struct {
	Name            *string
	Email           *string
	NewPassword     *string
	CurrentPassword string
}

// UpdateAccount changes the actor's account. Changing the email or the
// password needs the current password, checked under the sign-in throttle.
// A new email takes effect only once the link mailed to it is opened
// (VerifyEmail); until then the account keeps its address (see
// requestEmailChange: the answer is the same whether or not another
// account has the address). A password change moves the credentials
// version on, so that sign-ins checked against the old password and links
// mailed before fail, and revokes every other authorization and session
// of the account, so that whoever knew the old password is locked out;
// the caller's own authorization (or browser session) stays. It is
// recorded and mailed as a notice. With both, the password changes first,
// so that the email change asked for in the same request is not ended by
// it.
func (s *Service) UpdateAccount(ctx context.Context, actor Actor, in AccountUpdate) (keyhole.Account, error) {
	if err := actor.NeedAccount(); err != nil {
		return keyhole.Account{}, err
	}
	cur, err := s.store.Account(ctx, actor.AccountID)
	if err != nil {
		return keyhole.Account{}, storeErr(err, "account")
	}
	var problems []string
	var email string
	if in.Name != nil {
		if err := checkText("Name", *in.Name, maxNameLen, false); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if in.Email != nil {
		e, err := normalizeEmail(*in.Email)
		if err != nil {
			problems = append(problems, keyhole.ErrorMessage(err))
		}
		email = e
	}
	if in.NewPassword != nil {
		if err := checkPassword(*in.NewPassword, cur.Email, cur.Name, email); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return keyhole.Account{}, keyhole.Errorf(keyhole.Invalid, "%s", strings.Join(problems, " "))
	}
	sensitive := in.Email != nil || in.NewPassword != nil
	if sensitive {
		if in.CurrentPassword == "" {
			return keyhole.Account{}, keyhole.Errorf(keyhole.Invalid, "Changing the email or password requires the current password (`password`).")
		}
		// The slow check runs before the write transaction; inside it the
		// credentials must still be the ones checked.
		if err := s.reauthPassword(ctx, cur, in.CurrentPassword, actor.origin()); err != nil {
			return keyhole.Account{}, err
		}
	}
	changeEmail := in.Email != nil && email != cur.Email
	var newHash string
	if in.NewPassword != nil {
		if newHash, err = s.hashPassword(ctx, *in.NewPassword); err != nil {
			return keyhole.Account{}, err
		}
	}
	apply := func(a *keyhole.Account) {
		if in.Name != nil {
			a.Name = strings.TrimSpace(*in.Name)
		}
		if newHash != "" {
			a.PasswordHash = newHash
			a.CredentialsVersion = cur.CredentialsVersion + 1
		}
		a.UpdatedAt = s.clock()
	}
	if newHash != "" {
		// A password change locks out whoever knew the old one: every other
		// authorization and session goes, in the same transaction. The
		// caller's own stays; if it is not the API key, the account gets a
		// new API key, the old one being revoked with the rest.
		a := cur
		apply(&a)
		var key keyhole.Authorization
		var tokens []keyhole.Token
		if !actor.Authorization.Default {
			key, tokens = s.apiKey(a.ID, a.UpdatedAt)
		}
		n, err := s.store.ResetAccount(ctx, store.Reset{Account: a, Version: cur.CredentialsVersion, Keep: actor.Authorization.ID,
			KeepSession: actor.Authorization.SessionID, Key: key, Tokens: tokens,
			Events: []keyhole.Event{s.event(a.ID, keyhole.EventPasswordChanged, actor.origin(), "", "")}})
		if err != nil {
			return keyhole.Account{}, accountErr(err)
		}
		for range n {
			s.rec.Revoked("password_change")
		}
		s.log.InfoContext(ctx, "password changed", "account_id", a.ID, "revoked_authorizations", n)
		s.notify(ctx, a.Email, "your password was changed", actor.origin(),
			"The password of your Keyhole account was changed. Every other session and application was signed out.")
		if changeEmail {
			if err := s.requestEmailChange(ctx, a, email, actor.origin()); err != nil {
				return keyhole.Account{}, err
			}
		}
		return a, nil
	}
	if changeEmail {
		if err := s.requestEmailChange(ctx, cur, email, actor.origin()); err != nil {
			return keyhole.Account{}, err
		}
		if cur, err = s.store.Account(ctx, cur.ID); err != nil {
			return keyhole.Account{}, storeErr(err, "account")
		}
	}
	if in.Name == nil {
		return cur, nil
	}
	a, err := s.store.UpdateAccount(ctx, actor.AccountID, func(a *keyhole.Account) error {
		apply(a)
		return nil
	})
	if err != nil {
		return keyhole.Account{}, accountErr(err)
	}
	return a, nil
}

// accountErr names the conflict a change of account can meet.
func accountErr(err error) error {
	var ke *keyhole.Error
	switch {
	case errors.As(err, &ke):
		return err
	case errors.Is(err, store.ErrConflict):
		return &keyhole.Error{Code: keyhole.Conflict, Message: "An account with that email already exists.", Err: err}
	}
	return storeErr(err, "account")
}

var errCredentials = keyhole.Errorf(keyhole.Unauthorized, "Invalid credentials provided.")

// Authenticate checks an email and password and returns the account.
// Unauthorized, with one message whether the email or the password was
// wrong; a wrong password for a known email is recorded in its activity.
// Every check first reserves an attempt of the email's and of the
// address's sign-in budgets (RateLimited when one is spent), so that
// parallel guesses cannot all reach the check; a right password gives it
// back.
func (s *Service) Authenticate(ctx context.Context, email, password string, o Origin) (keyhole.Account, error) {
	if len(password) > maxPasswordLen || len(email) > maxEmailLen {
		return keyhole.Account{}, errCredentials
	}
	email = strings.TrimSpace(email)
	r, err := s.throttles.password.reserve(ctx, email, o.IP)
	if err != nil {
		return keyhole.Account{}, err
	}
	a, err := s.store.AccountByEmail(ctx, email)
	if err == nil && a.ID == keyhole.SystemAccountID {
		// The owner of the built-in clients has no password: nobody signs
		// in as it.
		err = store.ErrNotFound
	}
	if err != nil {
		if !isNotFound(err) {
			r.done(true)
			return keyhole.Account{}, storeErr(err, "account")
		}
		// As slow as a wrong password, so that timing tells nothing.
		if _, err := s.passwords.Verify(ctx, password, s.dummyHash); err != nil {
			r.done(true)
			return keyhole.Account{}, passwordErr(err)
		}
		s.rec.SignInFailed()
		return keyhole.Account{}, errCredentials
	}
	ok, err := s.passwords.Verify(ctx, password, a.PasswordHash)
	if errors.Is(err, secret.ErrBusy) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		r.done(true) // not checked: nothing learnt
		return keyhole.Account{}, passwordErr(err)
	}
	r.done(ok)
	if !ok {
		s.rec.SignInFailed()
		s.log.InfoContext(ctx, "wrong password", "account_id", a.ID, "ip", o.IP)
		s.record(ctx, s.event(a.ID, keyhole.EventLoginFailed, o, "", "wrong password"))
		return keyhole.Account{}, errCredentials
	}
	return a, nil
}

// reauthPassword re-checks the password of a signed-in account, under the
// same throttle as a sign-in: Invalid when it is wrong.
func (s *Service) reauthPassword(ctx context.Context, a keyhole.Account, password string, o Origin) error {
	if password == "" {
		return keyhole.Errorf(keyhole.Invalid, "Enter your password.")
	}
	got, err := s.Authenticate(ctx, a.Email, password, o)
	if err == nil && got.ID != a.ID {
		err = errCredentials
	}
	if keyhole.ErrorCode(err) == keyhole.Unauthorized {
		return keyhole.Errorf(keyhole.Invalid, "The current password is incorrect.")
	}
	return err
}

// hashPassword hashes a new password in one of the limited hashing slots.
func (s *Service) hashPassword(ctx context.Context, password string) (string, error) {
	h, err := s.passwords.Hash(ctx, password)
	if err != nil {
		return "", passwordErr(err)
	}
	return h, nil
}

// passwordErr answers a password check that could not run: every hashing
// slot busy (Unavailable, retry soon), or the request gone.
func passwordErr(err error) error {
	if errors.Is(err, secret.ErrBusy) {
		return &keyhole.Error{Code: keyhole.Unavailable, Message: "Keyhole is busy checking passwords. Please try again in a moment.", RetryAfter: PasswordWait, Err: err}
	}
	return &keyhole.Error{Code: keyhole.Internal, Message: "internal error", Err: err}
}

func normalizeEmail(raw string) (string, error) {
	e := strings.TrimSpace(raw)
	addr, err := mail.ParseAddress(e)
	if e == "" || err != nil || addr.Address != e || len(e) > maxEmailLen || !strings.Contains(e[strings.LastIndexByte(e, '@')+1:], ".") {
		return "", keyhole.Errorf(keyhole.Invalid, "Email must be a valid address like name@example.com.")
	}
	return e, nil
}
