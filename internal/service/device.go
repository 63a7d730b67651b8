package service

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
	"github.com/keyhole/keyhole/internal/token"
)

// Device flow settings (RFC 8628).
const (
	DeviceCodeTTL  = 10 * time.Minute
	DeviceInterval = 5 // seconds between polls
	// userCodeAlphabet leaves out vowels and look-alikes (RFC 8628 §6.1).
	userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"
	userCodeLen      = 8
)

// DeviceAuthorization is the answer to a device authorization request.
type DeviceAuthorization struct {
	DeviceCode token.Secret
	UserCode   string // formatted for people: XXXX-XXXX
	ExpiresIn  int
	Interval   int
}

// StartDevice begins a device authorization for a client (RFC 8628 §3.1).
// The client may name itself by id alone, as golang.org/x/oauth2 does: a
// device code is worth nothing without the client's authentication at the
// token endpoint, which PollDevice requires. Credentials that are sent must
// be right. description is what the device says about itself, shown on
// the page that approves it; only the built-in CLI client may give one.
func (s *Service) StartDevice(ctx context.Context, ca ClientAuth, scope []string, description string) (DeviceAuthorization, error) {
	var c keyhole.Client
	var err error
	if ca.Secret == "" && validID(ca.ID) {
		c, err = s.store.Client(ctx, ca.ID)
		if isNotFound(err) {
			err = errClient
		}
	} else {
		c, err = s.AuthenticateClient(ctx, ca)
	}
	if err != nil {
		return DeviceAuthorization{}, storeErr(err, "client")
	}
	if scope, err = keyhole.CheckScopes(scope, keyhole.DefaultScope); err != nil {
		return DeviceAuthorization{}, err
	}
	switch {
	case description != "" && !c.BuiltIn():
		return DeviceAuthorization{}, keyhole.Errorf(keyhole.Invalid, "Only Keyhole's own CLI may describe itself (description).")
	case description == "" && c.BuiltIn():
		description = "Keyhole CLI login"
	}
	if err := checkText("description", description, maxDescriptionLen, false); err != nil {
		return DeviceAuthorization{}, keyhole.Errorf(keyhole.Invalid, "%s", err.Error())
	}
	return s.startDevice(ctx, c, scope, description)
}

// startDevice stores a new pending device grant of c.
func (s *Service) startDevice(ctx context.Context, c keyhole.Client, scope []string, description string) (DeviceAuthorization, error) {
	now := s.clock()
	raw := token.New(token.DeviceCode)
	g := keyhole.DeviceGrant{
		ID: newID(), ClientID: c.ID, Scope: scope, DeviceHash: token.Hash(raw.Reveal()), Description: description,
		Interval: s.deviceInterval, Status: keyhole.DevicePending, ExpiresAt: now.Add(DeviceCodeTTL), CreatedAt: now,
	}
	var err error
	for attempt := 0; ; attempt++ {
		if g.UserCode, err = newUserCode(); err != nil {
			return DeviceAuthorization{}, storeErr(err, "device grant")
		}
		err = s.store.CreateDeviceGrant(ctx, g)
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrConflict) || attempt == 3 {
			return DeviceAuthorization{}, storeErr(err, "device grant")
		}
	}
	return DeviceAuthorization{DeviceCode: raw, UserCode: FormatUserCode(g.UserCode), ExpiresIn: int(DeviceCodeTTL / time.Second), Interval: g.Interval}, nil
}

func newUserCode() (string, error) { return userCodeFrom(rand.Reader) }

// userCodeLimit is the largest multiple of the alphabet's size a byte can
// hold, 240: bytes from it up are skipped (rejection sampling), so that
// each letter is drawn from exactly 12 byte values. With `byte % 20` over
// every byte, the first 16 letters would take 13 values each and come up
// 13/12 as often as the last four.
const userCodeLimit = 256 / len(userCodeAlphabet) * len(userCodeAlphabet)

// userCodeFrom draws a user code's letters from random's bytes, uniformly
// over userCodeAlphabet (RFC 8628 §6.1).
func userCodeFrom(random io.Reader) (string, error) {
	code := make([]byte, 0, userCodeLen)
	buf := make([]byte, userCodeLen*2)
	for len(code) < userCodeLen {
		if _, err := io.ReadFull(random, buf); err != nil {
			return "", err
		}
		for _, b := range buf {
			if int(b) < userCodeLimit && len(code) < userCodeLen {
				code = append(code, userCodeAlphabet[int(b)%len(userCodeAlphabet)])
			}
		}
	}
	return string(code), nil
}

// FormatUserCode writes a user code as people read it: BCDF-GHJK.
func FormatUserCode(c string) string {
	if len(c) != userCodeLen {
		return c
	}
	return c[:4] + "-" + c[4:]
}

// NormalizeUserCode reads a user code as typed: any case, with or without
// the dash or spaces.
func NormalizeUserCode(in string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(in) {
		if r != '-' && r != ' ' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

var errUserCode = keyhole.Errorf(keyhole.Invalid, "That code is not valid or has expired. Check the code on your device and try again.")

// DeviceConsent is what the device page asks the person about: the
// pending grant a user code names, its client, and the handle the consent
// form carries.
type DeviceConsent struct {
	Grant  keyhole.DeviceGrant
	Client keyhole.Client
	Handle string
}

// DeviceRequest returns the pending device grant a person typed the user
// code of, with its client, so that the page can ask for consent. Every
// code typed reserves an attempt of the account's and the address's
// budgets (RateLimited when one is spent), and a code that names nothing
// keeps it spent, so that codes cannot be guessed.
func (s *Service) DeviceRequest(ctx context.Context, actor Actor, userCode string) (DeviceConsent, error) {
	r, err := s.throttles.userCode.reserve(ctx, actor.AccountID, actor.IP)
	if err != nil {
		return DeviceConsent{}, err
	}
	g, c, err := s.pendingDevice(ctx, NormalizeUserCode(userCode))
	r.done(err == nil)
	if err != nil {
		return DeviceConsent{}, err
	}
	h := s.sealConsent(actor, consentRequest{ClientID: c.ID, Scope: g.Scope, DeviceGrantID: g.ID, UserCode: g.UserCode})
	return DeviceConsent{Grant: g, Client: c, Handle: h}, nil
}

// pendingDevice finds the device grant with the normalized user code, if
// it still waits for an answer, and its client.
func (s *Service) pendingDevice(ctx context.Context, code string) (keyhole.DeviceGrant, keyhole.Client, error) {
	if len(code) != userCodeLen {
		return keyhole.DeviceGrant{}, keyhole.Client{}, errUserCode
	}
	g, err := s.store.DeviceGrantByUserCode(ctx, code)
	if err != nil {
		if isNotFound(err) {
			return keyhole.DeviceGrant{}, keyhole.Client{}, errUserCode
		}
		return keyhole.DeviceGrant{}, keyhole.Client{}, storeErr(err, "device grant")
	}
	if g.Status != keyhole.DevicePending || !g.ExpiresAt.After(s.clock()) {
		return keyhole.DeviceGrant{}, keyhole.Client{}, errUserCode
	}
	c, err := s.store.Client(ctx, g.ClientID)
	if err != nil {
		return keyhole.DeviceGrant{}, keyhole.Client{}, storeErr(err, "client")
	}
	return g, c, nil
}

// AnswerDevice records a person's Allow or Deny on the device consent page
// that carried handle: the device and scope that page showed.
func (s *Service) AnswerDevice(ctx context.Context, actor Actor, handle string, allow bool) (keyhole.Client, error) {
	cr, err := s.openConsent(actor, handle)
	if err != nil || cr.DeviceGrantID == "" {
		return keyhole.Client{}, errConsent
	}
	g, c, err := s.pendingDevice(ctx, cr.UserCode)
	if err != nil {
		return keyhole.Client{}, err
	}
	if g.ID != cr.DeviceGrantID {
		return keyhole.Client{}, errConsent
	}
	var ev []keyhole.Event
	if allow {
		ev = append(ev, s.event(actor.AccountID, keyhole.EventAuthorizationGrant, actor.origin(), g.ID, c.Name+" (device): "+keyhole.JoinScope(g.Scope)))
	}
	_, err = s.store.UpdateDeviceGrant(ctx, g.ID, func(g *keyhole.DeviceGrant) error {
		if g.Status != keyhole.DevicePending {
			return keyhole.Errorf(keyhole.Invalid, "This code was already answered.")
		}
		g.Status = keyhole.DeviceDenied
		if allow {
			g.Status = keyhole.DeviceApproved
		}
		g.AccountID, g.SessionID = actor.AccountID, actor.Authorization.SessionID
		return nil
	}, ev...)
	if err != nil {
		return keyhole.Client{}, storeErr(err, "device grant")
	}
	s.log.InfoContext(ctx, "device answered", "account_id", actor.AccountID, "client_id", c.ID, "allow", allow)
	return c, nil
}

// PollDevice is the device's token request (RFC 8628 §3.4, §3.5).
func (s *Service) PollDevice(ctx context.Context, ca ClientAuth, deviceCode string) (TokenGrant, error) {
	c, err := s.AuthenticateClient(ctx, ca)
	if err != nil {
		return TokenGrant{}, err
	}
	if typ, err := token.Parse(deviceCode); err != nil || typ != token.DeviceCode {
		return TokenGrant{}, errGrant
	}
	g, err := s.store.DeviceGrantByHash(ctx, token.Hash(deviceCode))
	if err != nil {
		if isNotFound(err) {
			return TokenGrant{}, errGrant
		}
		return TokenGrant{}, storeErr(err, "device grant")
	}
	if g.ClientID != c.ID {
		return TokenGrant{}, errGrant
	}
	now := s.clock()
	if !g.ExpiresAt.After(now) {
		return TokenGrant{}, keyhole.Errorf(keyhole.ExpiredToken, "The device code has expired; start again.")
	}
	switch g.Status {
	case keyhole.DeviceDenied:
		return TokenGrant{}, keyhole.Errorf(keyhole.AccessDenied, "The person declined the request.")
	case keyhole.DevicePending:
		// Polling faster than the interval earns slow_down and a longer
		// interval. x/oauth2 retries each failed poll at once with the other
		// client authentication style, so polls within one second of the
		// last count as one.
		var slow bool
		_, err := s.store.UpdateDeviceGrant(ctx, g.ID, func(d *keyhole.DeviceGrant) error {
			since := now.Sub(d.PolledAt)
			if !d.PolledAt.IsZero() && since >= time.Second && since < time.Duration(d.Interval)*time.Second {
				slow = true
				d.Interval += 5
			}
			if d.PolledAt.IsZero() || since >= time.Second {
				d.PolledAt = now
			}
			return nil
		})
		if err != nil {
			return TokenGrant{}, storeErr(err, "device grant")
		}
		if slow {
			return TokenGrant{}, keyhole.Errorf(keyhole.SlowDown, "Polling too fast; wait longer between requests.")
		}
		return TokenGrant{}, keyhole.Errorf(keyhole.AuthorizationPending, "Waiting for the person to enter the code and answer.")
	}
	if c.BuiltIn() {
		return s.redeemCLILogin(ctx, g, c, ca.IP, now)
	}
	// The device gets the account's grant to its client, which outlives
	// the browser session the person answered in.
	auth := keyhole.Authorization{
		ID: newID(), AccountID: g.AccountID, ClientID: c.ID, Scope: g.Scope,
		Description: c.Name, CreatedAt: now, UpdatedAt: now,
	}
	tokens, tg := s.mint(now, issue{auth: auth, client: &c, ttl: s.accessTTL, refresh: true})
	if err := s.store.RedeemDeviceGrant(ctx, g.ID, nil, auth, tokens); err != nil {
		if isNotFound(err) {
			return TokenGrant{}, errGrant // redeemed by a concurrent poll
		}
		return TokenGrant{}, storeErr(err, "authorization")
	}
	s.rec.Issued(GrantDeviceCode)
	return tg, nil
}
