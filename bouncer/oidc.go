package bouncer

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// OpenID Connect (Core 1.0) on top of the OAuth sign-in: the ID token of
// the callback and of refreshes, the userinfo check of every request, and
// the sign-out at Keyhole's end_session_endpoint (RP-Initiated Logout 1.0).

var (
	// errNonce is an ID token whose nonce is not the one its sign-in sent:
	// the code was not this browser's sign-in's.
	errNonce = errors.New("the ID token's nonce is not the one this sign-in sent")
	// errOtherSubject is a token that Keyhole says is another person's
	// than the one who signed in.
	errOtherSubject = errors.New("keyhole names another subject than the sign-in's ID token")
)

// verifyIDToken verifies the ID token of a token response with go-oidc:
// signed by a key of Keyhole's jwks_uri, iss Keyhole's, aud this client,
// not expired (Core 1.0 §3.1.3.7), and its at_hash that of the response's
// access token (§3.1.3.8), which binds the two. It returns the token, the
// account it names and the raw token. The nonce is the caller's to check:
// a refresh's ID token has none (§12.2).
func (b *Bouncer) verifyIDToken(ctx context.Context, md *metadata, tok *oauth2.Token) (*oidc.IDToken, Account, string, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, Account{}, "", errors.New("the token response has no id_token")
	}
	id, err := md.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, Account{}, "", fmt.Errorf("ID token: %w", err)
	}
	if err := id.VerifyAccessToken(tok.AccessToken); err != nil {
		return nil, Account{}, "", fmt.Errorf("ID token: %w", err)
	}
	var claims struct {
		Email string `json:"email"`
		Name  string `json:"name"`
	}
	if err := id.Claims(&claims); err != nil {
		return nil, Account{}, "", fmt.Errorf("ID token: %w", err)
	}
	if id.Subject == "" {
		return nil, Account{}, "", errors.New("ID token: no sub")
	}
	return id, Account{ID: id.Subject, Email: claims.Email, Name: claims.Name}, raw, nil
}

// sameNonce reports whether an ID token's nonce is the one a sign-in sent
// (Core 1.0 §3.1.3.7, step 11). A sign-in that kept no nonce matches none.
func sameNonce(id *oidc.IDToken, sent string) bool {
	return sent != "" && subtle.ConstantTimeCompare([]byte(id.Nonce), []byte(sent)) == 1
}

// checkOpenID checks an OpenID Connect session's token, fresh (refreshed
// already when it had expired): a new ID token from a refresh must verify
// and name the same person (Core 1.0 §12.2), and Keyhole's userinfo
// endpoint must take the token and name the ID token's subject (§5.3.2:
// else the token is not this person's).
func (b *Bouncer) checkOpenID(ctx context.Context, md *metadata, auth *signedIn, fresh *oauth2.Token) (checked, *problem, error) {
	c := checked{token: fresh, account: auth.account()}
	// Only a refresh's answer has an ID token; a token still valid is the
	// session's own.
	if raw, _ := fresh.Extra("id_token").(string); raw != "" {
		_, acct, raw, err := b.verifyIDToken(ctx, md, fresh)
		if err == nil && acct.ID != auth.Subject {
			err = errOtherSubject
		}
		if err != nil {
			b.revokeQuietly(ctx, md, fresh)
			if errors.Is(err, errOtherSubject) {
				return checked{}, problemSubject, err
			}
			return checked{}, problemIDToken, err
		}
		c.account, c.idToken = acct, raw
	}
	info, err := b.userInfo(ctx, md, fresh)
	switch {
	case errors.Is(err, errUnauthorized):
		return checked{}, problemRevoked, err
	case errors.Is(err, errForbidden):
		b.revokeQuietly(ctx, md, fresh)
		return checked{}, problemScope, err
	case err != nil:
		return checked{}, problemUnreachable, err
	}
	if info.Subject != auth.Subject {
		b.revokeQuietly(ctx, md, fresh)
		return checked{}, problemSubject, fmt.Errorf("userinfo: %w", errOtherSubject)
	}
	// The email may have changed since the ID token: the allow-list holds
	// for the current one too.
	if info.Email != "" && !b.allowed(info.Email) {
		b.revokeQuietly(ctx, md, fresh)
		return checked{}, problemNotAllowed.about(info.Email), nil
	}
	return c, nil, nil
}

// userInfo asks Keyhole's userinfo endpoint (Core 1.0 §5.3) whom the
// access token is for, with go-oidc over the bouncer's HTTP client. It
// returns errUnauthorized for a 401 (invalid_token: revoked or expired),
// errForbidden for a 403 (insufficient_scope, RFC 6750 §3.1), and another
// error when Keyhole cannot be reached or answers otherwise.
func (b *Bouncer) userInfo(ctx context.Context, md *metadata, tok *oauth2.Token) (*oidc.UserInfo, error) {
	// go-oidc reports a refusal as text only: the status is read on the
	// way.
	var status int
	hc := *b.hc
	hc.Transport = statusReader{next: b.hc.Transport, status: &status}
	info, err := md.provider.UserInfo(oidc.ClientContext(ctx, &hc), oauth2.StaticTokenSource(tok))
	switch {
	case err == nil && info.Subject == "":
		return nil, errors.New("userinfo: no sub in the answer")
	case err == nil:
		return info, nil
	case status == http.StatusUnauthorized:
		return nil, errUnauthorized
	case status == http.StatusForbidden:
		return nil, errForbidden
	}
	return nil, fmt.Errorf("userinfo: %w", err)
}

// statusReader notes the status of the response to its one request.
type statusReader struct {
	next   http.RoundTripper
	status *int
}

func (s statusReader) RoundTrip(r *http.Request) (*http.Response, error) {
	next := s.next
	if next == nil {
		next = http.DefaultTransport
	}
	resp, err := next.RoundTrip(r)
	if resp != nil {
		*s.status = resp.StatusCode
	}
	return resp, err
}

// endSessionURL is where a browser signing out of an OpenID Connect
// session goes to sign out of Keyhole too (RP-Initiated Logout 1.0 §2):
// the session's ID token as id_token_hint, so that Keyhole signs out the
// person it names without asking (without it Keyhole asks first), the
// client_id, and PostLogoutURL to come back to.
func (b *Bouncer) endSessionURL(md *metadata, idToken string) string {
	u, _ := url.Parse(md.EndSessionEndpoint) // validated with the metadata
	q := u.Query()
	if idToken != "" {
		q.Set("id_token_hint", idToken)
	}
	q.Set("client_id", b.clientID)
	if b.postLogout != "" {
		q.Set("post_logout_redirect_uri", b.postLogout)
	}
	u.RawQuery = q.Encode()
	return u.String()
}
