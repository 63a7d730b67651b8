package bouncer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/oauth2"
)

var (
	// errUnauthorized is Keyhole refusing the token (401): revoked or
	// expired.
	errUnauthorized = errors.New("keyhole: the token is not accepted")
	// errForbidden is a token without the scope GET /account needs (403).
	errForbidden = errors.New("keyhole: the token may not read the account")
)

// fetchAccount reads the account the access token acts for: GET /account
// of Keyhole's Platform API at apiURL. It returns errUnauthorized for a
// 401, errForbidden for a 403, and another error when Keyhole cannot be
// reached or answers otherwise.
//
// It is the bouncer's one call to the Platform API, made with plain HTTP;
// when package keyholeapi (the Platform API's Go client) exists, this
// function becomes a call to it.
func fetchAccount(ctx context.Context, hc *http.Client, apiURL, accessToken string) (Account, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, apiURL+"/account", nil)
	if err != nil {
		return Account{}, err
	}
	req.Header.Set("Accept", "application/vnd.heroku+json; version=3")
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, err := hc.Do(req)
	if err != nil {
		return Account{}, fmt.Errorf("GET /account: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusUnauthorized:
		return Account{}, errUnauthorized
	case http.StatusForbidden:
		return Account{}, errForbidden
	default:
		return Account{}, fmt.Errorf("GET /account: status %d", resp.StatusCode)
	}
	var body struct {
		ID    string  `json:"id"`
		Email string  `json:"email"`
		Name  *string `json:"name"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body); err != nil {
		return Account{}, fmt.Errorf("GET /account: %w", err)
	}
	if body.ID == "" || body.Email == "" {
		return Account{}, errors.New("GET /account: no id or email in the answer")
	}
	a := Account{ID: body.ID, Email: body.Email}
	if body.Name != nil {
		a.Name = *body.Name
	}
	return a, nil
}

// revoke ends the grant behind t at Keyhole (RFC 7009 §2.1): the refresh
// token when there is one, since revoking it ends the grant's access
// tokens too (§2.1 lets the server do so; Keyhole always does). The client
// authenticates as at the token endpoint.
func (b *Bouncer) revoke(ctx context.Context, md *metadata, t *oauth2.Token) error {
	if md.RevocationEndpoint == "" {
		return errors.New("keyhole's metadata names no revocation_endpoint")
	}
	form := url.Values{"token": {t.AccessToken}, "token_type_hint": {"access_token"}}
	if t.RefreshToken != "" {
		form = url.Values{"token": {t.RefreshToken}, "token_type_hint": {"refresh_token"}}
	}
	basic := len(md.RevocationAuthMethods) == 0 || slices.Contains(md.RevocationAuthMethods, "client_secret_basic")
	if !basic {
		form.Set("client_id", b.clientID)
		form.Set("client_secret", b.clientSecret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, md.RevocationEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if basic {
		// RFC 6749 §2.3.1: each part form-encoded before Basic.
		req.SetBasicAuth(url.QueryEscape(b.clientID), url.QueryEscape(b.clientSecret))
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	// RFC 7009 §2.2: 200 whether or not the token was still alive.
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("revoke: status %d", resp.StatusCode)
	}
	return nil
}

// revokeQuietly revokes t for a grant the bouncer gives up on (not allowed,
// too little scope, replaced by a new sign-in): a failure is only logged,
// since the person's answer does not depend on it.
func (b *Bouncer) revokeQuietly(ctx context.Context, md *metadata, t *oauth2.Token) {
	if err := b.revoke(ctx, md, t); err != nil {
		b.log.WarnContext(ctx, "bouncer: could not revoke a grant at Keyhole", "err", err)
	}
}
