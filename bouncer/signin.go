package bouncer

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/keyhole/keyhole/internal/keyhole"
)

// signIn starts a sign-in: a new state, PKCE verifier and (on OpenID
// Connect) nonce go into the session, and the person to Keyhole's
// authorization endpoint.
func (b *Bouncer) signIn(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		b.fail(w, r, problemMethod, nil)
		return
	}
	next := localPath(r.URL.Query().Get("next"), b.home)
	md, err := b.metadata(r.Context())
	if err != nil {
		b.failTo(w, r, problemUnreachable, err, next)
		return
	}
	s := b.cookies.load(r)
	// RFC 6749 §10.12: a state bound to this browser, unguessable, per
	// sign-in; RFC 7636 §4.1: a verifier of 32 random octets.
	p := pendingLogin{State: rand.Text(), Verifier: oauth2.GenerateVerifier(), Next: next, Started: b.now()}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(p.Verifier)}
	if md.provider != nil {
		// OpenID Connect Core 1.0 §3.1.2.1, §15.5.2: a nonce bound to this
		// browser, per sign-in, which the ID token must carry back.
		p.Nonce = rand.Text()
		opts = append(opts, oidc.Nonce(p.Nonce))
	}
	s.addPending(p, b.now())
	if !b.save(w, r, s) {
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, b.oauthConfig(md).AuthCodeURL(p.State, opts...), http.StatusSeeOther)
}

// callback answers Keyhole's authorization response (RFC 6749 §4.1.2).
func (b *Bouncer) callback(w http.ResponseWriter, r *http.Request) {
	// The URL holds the code: no page after this one may learn it.
	w.Header().Set("Referrer-Policy", "no-referrer")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		b.fail(w, r, problemMethod, nil)
		return
	}
	s := b.cookies.load(r)
	next, p, err := b.finishSignIn(r, s)
	if !b.save(w, r, s) {
		return
	}
	if p != nil {
		b.failTo(w, r, p, err, next)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// finishSignIn checks the authorization response against the sign-in
// started in s, redeems the code and reads the account: from the ID token
// on OpenID Connect, from GET /account on plain OAuth. The started
// sign-in is taken out of s whatever happens, so a callback works once; on
// success s holds the new grant. It returns where to send the person, or
// the problem to show them and its cause.
func (b *Bouncer) finishSignIn(r *http.Request, s *session) (string, *problem, error) {
	ctx := r.Context()
	q := r.URL.Query()
	for k, v := range q {
		if len(v) > 1 {
			return b.home, problemState, fmt.Errorf("callback parameter %.40q sent %d times", k, len(v))
		}
	}
	state := q.Get("state")
	if state == "" {
		return b.home, problemState, errors.New("callback without state")
	}
	pl, ok := s.takePending(state, b.now())
	if !ok {
		return b.home, problemState, errors.New("callback state matches no sign-in started in this browser in time")
	}
	next := pl.Next
	md, err := b.metadata(ctx)
	if err != nil {
		return next, problemUnreachable, err
	}
	// RFC 9207 §2.4: when the server says it sends iss, it must be there
	// and be the issuer exactly, on errors too; it tells this Keyhole's
	// answers from another server's (mix-up attacks).
	if iss, has := q["iss"]; has && iss[0] != b.issuer {
		return next, problemIssuer, fmt.Errorf("callback iss %.100q is not %q", iss[0], b.issuer)
	} else if !has && md.AuthorizationResponseIss {
		return next, problemIssuer, errors.New("callback without iss")
	}
	if e := q.Get("error"); e != "" {
		// RFC 6749 §4.1.2.1. The description is not shown: it is text from
		// the URL, which anyone could have written.
		switch e {
		case "access_denied":
			return next, problemDeclined, nil
		case "temporarily_unavailable", "server_error":
			return next, problemUnreachable, fmt.Errorf("keyhole answered error=%s", e)
		default:
			return next, problemRefused, fmt.Errorf("keyhole answered error=%.40q", e)
		}
	}
	code := q.Get("code")
	if code == "" {
		return next, problemRefused, errors.New("callback without code or error")
	}
	ctx = b.oauthContext(ctx)
	tok, err := b.oauthConfig(md).Exchange(ctx, code, oauth2.VerifierOption(pl.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			return next, problemRefused, err
		}
		return next, problemUnreachable, err
	}
	if granted := grantedScope(tok, b.scopes); !keyhole.Covers(granted, b.scopes) {
		b.revokeQuietly(ctx, md, tok)
		return next, problemScope, fmt.Errorf("granted scope %q, need %q", granted, b.scopes)
	}
	var acct Account
	var rawID string
	if md.provider != nil {
		var id *oidc.IDToken
		id, acct, rawID, err = b.verifyIDToken(ctx, md, tok)
		if err == nil && !sameNonce(id, pl.Nonce) {
			err = errNonce
		}
		if err != nil {
			b.revokeQuietly(ctx, md, tok)
			return next, problemIDToken, err
		}
	} else {
		acct, err = fetchAccount(ctx, b.hc, b.apiURL, tok.AccessToken)
		switch {
		case errors.Is(err, errUnauthorized):
			return next, problemRevoked, err
		case errors.Is(err, errForbidden):
			b.revokeQuietly(ctx, md, tok)
			return next, problemScope, err
		case err != nil:
			b.revokeQuietly(ctx, md, tok)
			return next, problemUnreachable, err
		}
	}
	if !b.allowed(acct.Email) {
		b.revokeQuietly(ctx, md, tok)
		return next, problemNotAllowed.about(acct.Email), nil
	}
	//secretcmp:ok both come from Keyhole: the token answer and the sealed session cookie, which nobody else can write
	if old := s.Auth; old != nil && old.Refresh != tok.RefreshToken {
		// The grant of an earlier sign-in in this browser is no longer
		// needed: end it rather than leave it alive at Keyhole.
		b.revokeQuietly(ctx, md, old.token())
	}
	s.Auth = &signedIn{Expires: b.now().Add(SessionLife)}
	s.Auth.setToken(tok)
	if rawID != "" {
		s.Auth.setIDToken(rawID, acct)
	}
	return next, nil, nil
}

// grantedScope is the scope of a token response, or what was asked for
// when the response names none (RFC 6749 §5.1).
func grantedScope(tok *oauth2.Token, asked []string) []string {
	if s, ok := tok.Extra("scope").(string); ok && s != "" {
		return keyhole.SplitScope(s)
	}
	return asked
}

// signOut shows the sign-out button (GET) or signs out (POST): the grant
// is revoked at Keyhole (RFC 7009) and the session cookie deleted. A plain
// OAuth session ends here only, and the person goes Home; an OpenID
// Connect session's browser goes on to Keyhole's end_session_endpoint,
// which signs it out of Keyhole too and sends it to PostLogoutURL.
func (b *Bouncer) signOut(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if b.openID {
			b.fail(w, r, problemSignOutOpenID, nil)
		} else {
			b.fail(w, r, problemSignOut, nil)
		}
		return
	case http.MethodPost:
	default:
		b.fail(w, r, problemMethod, nil)
		return
	}
	s := b.cookies.load(r)
	var err error
	var md *metadata
	if s.Auth != nil {
		if md, err = b.metadata(r.Context()); err == nil {
			err = b.revoke(r.Context(), md, s.Auth.token())
		}
	}
	if !b.save(w, r, &session{}) {
		return
	}
	if err != nil {
		b.fail(w, r, problemSignedOutHere, err)
		return
	}
	to := b.home
	if s.Auth != nil && s.Auth.openID() && md.EndSessionEndpoint != "" {
		to = b.endSessionURL(md, s.Auth.IDToken)
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, to, http.StatusSeeOther)
}
