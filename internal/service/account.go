package service

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/secret"
)

// Limits on account fields.
const (
	maxEmailLen    = 254
	maxNameLen     = 255
	minPasswordLen = 8
	maxPasswordLen = 1024
)

// NewAccount is the input to CreateAccount.
type NewAccount struct {
	Email    string
	Name     string
	Password string
}

// CreateAccount signs up an account. Invalid if the email, name or password
// is unacceptable; Conflict if the email is taken.
func (s *Service) CreateAccount(ctx context.Context, in NewAccount) (keyhole.Account, error) {
	email, err := normalizeEmail(in.Email)
	if err != nil {
		return keyhole.Account{}, err
	}
	var problems []string
	if err := checkName(in.Name); err != nil {
		problems = append(problems, err.Error())
	}
	if err := checkPassword(in.Password); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return keyhole.Account{}, keyhole.Errorf(keyhole.Invalid, "%s", strings.Join(problems, " "))
	}
	hash := secret.HashPassword(in.Password, s.password)
	now := s.clock()
	a := keyhole.Account{
		ID: newID(), Email: email, Name: strings.TrimSpace(in.Name), PasswordHash: hash,
		CreatedAt: now, UpdatedAt: now,
	}
	key, tokens := s.apiKey(a.ID, now)
	if err := s.store.CreateAccount(ctx, a, key, tokens); err != nil {
		if keyhole.ErrorCode(storeErr(err, "account")) == keyhole.Conflict {
			return keyhole.Account{}, &keyhole.Error{Code: keyhole.Conflict, Message: "An account with that email already exists.", Err: err}
		}
		return keyhole.Account{}, storeErr(err, "account")
	}
	s.log.InfoContext(ctx, "account created", "account_id", a.ID)
	return a, nil
}

// Account returns the actor's own account.
func (s *Service) Account(ctx context.Context, actor Actor) (keyhole.Account, error) {
	if actor.AccountID == "" {
		return keyhole.Account{}, keyhole.Errorf(keyhole.Forbidden, "This token acts for an OAuth client, not an account.")
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

// UpdateAccount changes the actor's account. A password change also revokes
// every other authorization and session of the account, so that whoever
// knew the old password is locked out; the caller's own authorization stays.
func (s *Service) UpdateAccount(ctx context.Context, actor Actor, in AccountUpdate) (keyhole.Account, error) {
	if actor.AccountID == "" {
		return keyhole.Account{}, keyhole.Errorf(keyhole.Forbidden, "This token acts for an OAuth client, not an account.")
	}
	var problems []string
	var email string
	if in.Name != nil {
		if err := checkName(*in.Name); err != nil {
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
		if err := checkPassword(*in.NewPassword); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) > 0 {
		return keyhole.Account{}, keyhole.Errorf(keyhole.Invalid, "%s", strings.Join(problems, " "))
	}
	sensitive := in.Email != nil || in.NewPassword != nil
	var newHash string
	if in.NewPassword != nil {
		newHash = secret.HashPassword(*in.NewPassword, s.password)
	}
	// The slow password check runs before the write transaction; inside it
	// the hash must still be the one checked.
	var cur keyhole.Account
	if sensitive {
		if in.CurrentPassword == "" {
			return keyhole.Account{}, keyhole.Errorf(keyhole.Invalid, "Changing the email or password requires the current password (`password`).")
		}
		var err error
		if cur, err = s.store.Account(ctx, actor.AccountID); err != nil {
			return keyhole.Account{}, storeErr(err, "account")
		}
		if ok, _ := secret.VerifyPassword(in.CurrentPassword, cur.PasswordHash); !ok {
			return keyhole.Account{}, keyhole.Errorf(keyhole.Invalid, "The current password is incorrect.")
		}
	}
	apply := func(a *keyhole.Account) {
		if in.Name != nil {
			a.Name = strings.TrimSpace(*in.Name)
		}
		if in.Email != nil {
			a.Email = email
		}
		if newHash != "" {
			a.PasswordHash = newHash
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
		n, err := s.store.ResetAccount(ctx, a, cur.PasswordHash, actor.Authorization.ID, key, tokens)
		if err != nil {
			return keyhole.Account{}, accountErr(err)
		}
		s.log.InfoContext(ctx, "password changed", "account_id", a.ID, "revoked_authorizations", n)
		return a, nil
	}
	a, err := s.store.UpdateAccount(ctx, actor.AccountID, func(a *keyhole.Account) error {
		if sensitive && a.PasswordHash != cur.PasswordHash {
			return keyhole.Errorf(keyhole.Conflict, "The password changed meanwhile; try again.")
		}
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
	if errors.As(err, &ke) {
		return err
	}
	if keyhole.ErrorCode(storeErr(err, "account")) == keyhole.Conflict {
		return &keyhole.Error{Code: keyhole.Conflict, Message: "An account with that email already exists, or the password changed meanwhile.", Err: err}
	}
	return storeErr(err, "account")
}

// Authenticate checks an email and password and returns the account.
// Unauthorized, with one message whether the email or the password was
// wrong; RateLimited after too many wrong passwords for the email.
func (s *Service) Authenticate(ctx context.Context, email, password string) (keyhole.Account, error) {
	bad := keyhole.Errorf(keyhole.Unauthorized, "Invalid credentials provided.")
	if len(password) > maxPasswordLen || len(email) > maxEmailLen {
		return keyhole.Account{}, bad
	}
	key := strings.ToLower(strings.TrimSpace(email))
	if s.failures.Remaining(key) == 0 {
		return keyhole.Account{}, keyhole.Errorf(keyhole.RateLimited, "Too many failed sign-in attempts for this account. Wait a few minutes and try again.")
	}
	a, err := s.store.AccountByEmail(ctx, strings.TrimSpace(email))
	if err != nil {
		if !isNotFound(err) {
			return keyhole.Account{}, storeErr(err, "account")
		}
		// As slow as a wrong password, so that timing tells nothing.
		_, _ = secret.VerifyPassword(password, s.dummyHash)
		s.failures.Take(key)
		return keyhole.Account{}, bad
	}
	if ok, err := secret.VerifyPassword(password, a.PasswordHash); err != nil || !ok {
		s.failures.Take(key)
		return keyhole.Account{}, bad
	}
	return a, nil
}

func normalizeEmail(raw string) (string, error) {
	e := strings.TrimSpace(raw)
	addr, err := mail.ParseAddress(e)
	if e == "" || err != nil || addr.Address != e || len(e) > maxEmailLen || !strings.Contains(e[strings.LastIndexByte(e, '@')+1:], ".") {
		return "", keyhole.Errorf(keyhole.Invalid, "Email must be a valid address like name@example.com.")
	}
	return e, nil
}

type problem string

func (p problem) Error() string { return string(p) }

func checkName(n string) error {
	if utf8.RuneCountInString(n) > maxNameLen || !utf8.ValidString(n) {
		return problem("Name must be valid text of at most 255 characters.")
	}
	return nil
}

func checkPassword(p string) error {
	switch {
	case utf8.RuneCountInString(p) < minPasswordLen:
		return problem("Password must be at least 8 characters.")
	case len(p) > maxPasswordLen:
		return problem("Password must be at most 1024 bytes.")
	}
	return nil
}
