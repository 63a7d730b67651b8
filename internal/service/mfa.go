package service

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
	"github.com/keyhole/keyhole/internal/token"
)

// Two-factor authentication: TOTP after RFC 6238 (30-second steps, six
// digits, SHA-1, one step of drift either way), and recovery codes.
const (
	otpPeriod = 30
	otpSkew   = 1
	// RecoveryCodeCount recovery codes are made at enrolment and each
	// regeneration.
	RecoveryCodeCount = 10
	// EnrolmentTTL is how long a two-factor set-up page may be answered.
	EnrolmentTTL = 15 * time.Minute
	// recoveryAlphabet has 32 letters and digits without look-alikes
	// (no l, o, 0, 1): a code of 12 carries 60 random bits.
	recoveryAlphabet = "abcdefghijkmnpqrstuvwxyz23456789"
	recoveryLen      = 12
)

var otpOpts = totp.ValidateOpts{Period: otpPeriod, Skew: 0, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

var errCode = keyhole.Errorf(keyhole.TwoFactor, "That two-factor code is not right, or was already used. Enter the current code from your authenticator app, or an unused recovery code.")

// matchTOTP finds the time step within the allowed drift of now whose
// code is code, comparing in constant time.
func matchTOTP(seed, code string, now time.Time) (int64, bool) {
	if len(code) != 6 {
		return 0, false
	}
	found, step := false, int64(0)
	for d := -otpSkew; d <= otpSkew; d++ {
		t := now.Add(time.Duration(d*otpPeriod) * time.Second)
		want, err := totp.GenerateCodeCustom(seed, t, otpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			found, step = true, t.Unix()/otpPeriod
		}
	}
	return step, found
}

// normalizeCode reads a code as typed: spaces and dashes dropped, lower case.
func normalizeCode(code string) string {
	return strings.ToLower(strings.NewReplacer(" ", "", "-", "", "\t", "").Replace(strings.TrimSpace(code)))
}

func recoveryHash(code string) string { return token.Hash("keyhole-recovery:" + normalizeCode(code)) }

// newRecoveryCodes makes RecoveryCodeCount codes, written xxxx-xxxx-xxxx,
// and their hashes.
func newRecoveryCodes() ([]token.Secret, []string) {
	codes := make([]token.Secret, RecoveryCodeCount)
	hashes := make([]string, RecoveryCodeCount)
	for i := range codes {
		b := make([]byte, recoveryLen)
		rand.Read(b)
		var sb strings.Builder
		for j, c := range b {
			if j > 0 && j%4 == 0 {
				sb.WriteByte('-')
			}
			sb.WriteByte(recoveryAlphabet[int(c)%len(recoveryAlphabet)])
		}
		codes[i] = token.Secret(sb.String())
		hashes[i] = recoveryHash(sb.String())
	}
	return codes, hashes
}

func seedAD(accountID string) []byte { return []byte("mfa-seed:" + accountID) }

// secondFactor checks a one-time code or a recovery code of an account
// with MFA on. It first reserves an attempt of the account's and the
// address's budgets (RateLimited when one is spent); a right code gives it
// back. TOTP codes are accepted in increasing time-step order: the step
// of an accepted code is recorded in the database, and that step and
// every earlier one are refused afterwards, on every replica (so a code
// is accepted once, and one seen over a shoulder is worthless once a
// later one was used). A recovery code is used up, with its event.
// TwoFactor for a wrong or used code.
func (s *Service) secondFactor(ctx context.Context, a keyhole.Account, code string, o Origin) error {
	code = normalizeCode(code)
	if code == "" || len(code) > 64 {
		return errCode
	}
	r, err := s.throttles.code.reserve(ctx, a.ID, o.IP)
	if err != nil {
		return err
	}
	ok, err := s.checkCode(ctx, a, code, o)
	if err != nil {
		r.done(true) // not checked: nothing learnt
		return err
	}
	r.done(ok)
	if !ok {
		return errCode
	}
	return nil
}

func (s *Service) checkCode(ctx context.Context, a keyhole.Account, code string, o Origin) (bool, error) {
	now := s.clock()
	if len(code) == recoveryLen {
		err := s.store.UseRecoveryCode(ctx, a.ID, recoveryHash(code), now,
			s.event(a.ID, keyhole.EventRecoveryCodeUsed, o, "", ""))
		switch {
		case err == nil:
			return true, nil
		case isNotFound(err):
			return false, nil
		default:
			return false, storeErr(err, "recovery code")
		}
	}
	sealed, err := s.store.MFASeed(ctx, a.ID)
	if err != nil {
		if isNotFound(err) {
			return false, nil
		}
		return false, storeErr(err, "account")
	}
	seed, err := s.sealer.Open(sealed, seedAD(a.ID))
	if err != nil {
		return false, &keyhole.Error{Code: keyhole.Internal, Message: "internal error", Err: err}
	}
	step, ok := matchTOTP(string(seed), code, now)
	if !ok {
		return false, nil
	}
	return s.useStep(ctx, a.ID, step)
}

// useStep records an accepted TOTP step; false when it, or a later step,
// was used before.
func (s *Service) useStep(ctx context.Context, accountID string, step int64) (bool, error) {
	err := s.store.UseOTPStep(ctx, accountID, step, s.clock())
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, store.ErrConflict):
		return false, nil
	default:
		return false, storeErr(err, "account")
	}
}

// Enrolment is what the two-factor page shows while MFA is set up: the
// new seed as text and as an otpauth:// URL (for the QR code), and the
// handle the confirming form carries instead of the seed.
type Enrolment struct {
	Secret token.Secret
	URL    token.Secret
	Handle string
}

type enrolment struct {
	Seed    string    `json:"seed"`
	URL     string    `json:"url"`
	Expires time.Time `json:"expires"`
}

func enrolmentAD(actor Actor) []byte {
	return []byte("mfa-enrol:" + actor.AccountID + ":" + actor.Authorization.SessionID)
}

// StartMFA makes a new TOTP seed for the actor's account and the handle
// that carries it, sealed and bound to the actor's session, for
// EnrolmentTTL. Nothing is stored until EnableMFA. Conflict when MFA is
// already on.
func (s *Service) StartMFA(ctx context.Context, actor Actor) (Enrolment, error) {
	a, err := s.Account(ctx, actor)
	if err != nil {
		return Enrolment{}, err
	}
	if a.MFAEnabled {
		return Enrolment{}, keyhole.Errorf(keyhole.Conflict, "Two-factor authentication is already on.")
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: "Keyhole", AccountName: a.Email, Period: otpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, SecretSize: 20,
	})
	if err != nil {
		return Enrolment{}, &keyhole.Error{Code: keyhole.Internal, Message: "internal error", Err: err}
	}
	b, _ := json.Marshal(enrolment{Seed: key.Secret(), URL: key.URL(), Expires: s.clock().Add(EnrolmentTTL)})
	return Enrolment{
		Secret: token.Secret(key.Secret()), URL: token.Secret(key.URL()),
		Handle: base64.RawURLEncoding.EncodeToString(s.sealer.Seal(b, enrolmentAD(actor))),
	}, nil
}

var errEnrolment = keyhole.Errorf(keyhole.Invalid, "This two-factor set-up expired or was not started here. Start again.")

// openEnrolment reads the seed an enrolment handle carries.
func (s *Service) openEnrolment(actor Actor, handle string) (enrolment, error) {
	var e enrolment
	sealed, err := base64.RawURLEncoding.DecodeString(handle)
	if err != nil {
		return e, errEnrolment
	}
	b, err := s.sealer.Open(sealed, enrolmentAD(actor))
	if err != nil || json.Unmarshal(b, &e) != nil || !s.clock().Before(e.Expires) {
		return enrolment{}, errEnrolment
	}
	return e, nil
}

// ResumeMFA shows an enrolment again, from its handle: after a wrong code
// the person keeps the seed they already scanned.
func (s *Service) ResumeMFA(ctx context.Context, actor Actor, handle string) (Enrolment, error) {
	if err := actor.NeedAccount(); err != nil {
		return Enrolment{}, err
	}
	e, err := s.openEnrolment(actor, handle)
	if err != nil {
		return Enrolment{}, err
	}
	return Enrolment{Secret: token.Secret(e.Seed), URL: token.Secret(e.URL), Handle: handle}, nil
}

// EnableMFA confirms an enrolment: the account's password and a first
// code of the seed the handle carries. It turns MFA on with ten recovery
// codes, which it returns in clear this once (the server keeps their
// hashes). Invalid for a wrong password or code.
func (s *Service) EnableMFA(ctx context.Context, actor Actor, handle, password, code string) ([]token.Secret, error) {
	a, err := s.Account(ctx, actor)
	if err != nil {
		return nil, err
	}
	e, err := s.openEnrolment(actor, handle)
	if err != nil {
		return nil, err
	}
	if err := s.reauthPassword(ctx, a, password, actor.origin()); err != nil {
		return nil, err
	}
	r, err := s.throttles.code.reserve(ctx, a.ID, actor.IP)
	if err != nil {
		return nil, err
	}
	step, ok := matchTOTP(e.Seed, normalizeCode(code), s.clock())
	if ok {
		if ok, err = s.useStep(ctx, a.ID, step); err != nil {
			r.done(true)
			return nil, err
		}
	}
	r.done(ok)
	if !ok {
		return nil, keyhole.Errorf(keyhole.Invalid, "That code is not right. Check that your authenticator app shows the code for this account, and that the time of your phone is right.")
	}
	codes, hashes := newRecoveryCodes()
	err = s.store.EnableMFA(ctx, a.ID, s.sealer.Seal([]byte(e.Seed), seedAD(a.ID)), hashes, s.clock(),
		s.event(a.ID, keyhole.EventMFAEnabled, actor.origin(), "", ""))
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, keyhole.Errorf(keyhole.Conflict, "Two-factor authentication is already on.")
		}
		return nil, storeErr(err, "account")
	}
	s.log.InfoContext(ctx, "mfa enabled", "account_id", a.ID)
	s.notify(ctx, a.Email, "Two-factor authentication was turned on", actor.origin(),
		"Two-factor authentication was turned on for your Keyhole account. Signing in now needs a code from your authenticator app, or one of your recovery codes.")
	return codes, nil
}

// DisableMFA turns two-factor authentication off, after the password and
// a code (one-time or recovery), and mails a notice.
func (s *Service) DisableMFA(ctx context.Context, actor Actor, password, code string) error {
	a, err := s.Account(ctx, actor)
	if err != nil {
		return err
	}
	if !a.MFAEnabled {
		return keyhole.Errorf(keyhole.Conflict, "Two-factor authentication is already off.")
	}
	if err := s.reauthPassword(ctx, a, password, actor.origin()); err != nil {
		return err
	}
	if err := s.secondFactor(ctx, a, code, actor.origin()); err != nil {
		return dashboardCodeErr(err)
	}
	if err := s.store.DisableMFA(ctx, a.ID, s.clock(), s.event(a.ID, keyhole.EventMFADisabled, actor.origin(), "", "")); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return keyhole.Errorf(keyhole.Conflict, "Two-factor authentication is already off.")
		}
		return storeErr(err, "account")
	}
	s.log.InfoContext(ctx, "mfa disabled", "account_id", a.ID)
	s.notify(ctx, a.Email, "Two-factor authentication was turned off", actor.origin(),
		"Two-factor authentication was turned off for your Keyhole account: signing in now needs the password only.")
	return nil
}

// RegenerateRecoveryCodes replaces the account's recovery codes with ten
// new ones, after the password, and returns them in clear this once.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, actor Actor, password string) ([]token.Secret, error) {
	a, err := s.Account(ctx, actor)
	if err != nil {
		return nil, err
	}
	if err := s.reauthPassword(ctx, a, password, actor.origin()); err != nil {
		return nil, err
	}
	codes, hashes := newRecoveryCodes()
	err = s.store.ReplaceRecoveryCodes(ctx, a.ID, hashes, s.clock(), s.event(a.ID, keyhole.EventRecoveryCodesNew, actor.origin(), "", ""))
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, keyhole.Errorf(keyhole.Conflict, "Two-factor authentication is off: there are no recovery codes.")
		}
		return nil, storeErr(err, "account")
	}
	return codes, nil
}

// MFAStatus is whether the account has MFA on, and how many recovery
// codes it has left.
type MFAStatus struct {
	Enabled   bool
	CodesLeft int
}

// TwoFactorStatus tells the actor's account's MFA status.
func (s *Service) TwoFactorStatus(ctx context.Context, actor Actor) (MFAStatus, error) {
	a, err := s.Account(ctx, actor)
	if err != nil {
		return MFAStatus{}, err
	}
	st := MFAStatus{Enabled: a.MFAEnabled}
	if a.MFAEnabled {
		if st.CodesLeft, err = s.store.RecoveryCodesLeft(ctx, a.ID); err != nil {
			return MFAStatus{}, storeErr(err, "account")
		}
	}
	return st, nil
}

// dashboardCodeErr turns a refused code into a form error on pages where
// the person is signed in already.
func dashboardCodeErr(err error) error {
	if keyhole.ErrorCode(err) == keyhole.TwoFactor {
		return keyhole.Errorf(keyhole.Invalid, "%s", keyhole.ErrorMessage(err))
	}
	return err
}
