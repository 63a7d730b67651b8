package bouncer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/oauth2"

	"github.com/keyhole/keyhole/keyholeapi"
)

var (
	// errUnauthorized is Keyhole refusing the token (401): revoked or
	// expired.
	errUnauthorized = errors.New("keyhole: the token is not accepted")
	// errForbidden is a token without the scope GET /account needs (403).
	errForbidden = errors.New("keyhole: the token may not read the account")
)

// fetchAccount reads the account the access token acts for: GET /account
// of Keyhole's Platform API at apiURL, through keyholeapi with hc. It
// returns errUnauthorized for a 401, errForbidden for a 403, and another
// error when Keyhole cannot be reached or answers otherwise.
func fetchAccount(ctx context.Context, hc *http.Client, apiURL, accessToken string) (Account, error) {
	c, err := keyholeapi.New(apiURL, keyholeapi.WithHTTPClient(hc), keyholeapi.WithToken(accessToken))
	if err != nil {
		return Account{}, err
	}
	acct, err := c.Account(ctx)
	var apiErr *keyholeapi.Error
	switch {
	case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusUnauthorized:
		return Account{}, errUnauthorized
	case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusForbidden:
		return Account{}, errForbidden
	case err != nil:
		return Account{}, fmt.Errorf("GET /account: %w", err)
	}
	if acct.ID == "" || acct.Email == "" {
		return Account{}, errors.New("GET /account: no id or email in the answer")
	}
	a := Account{ID: acct.ID, Email: acct.Email}
	if acct.Name != nil {
		a.Name = *acct.Name
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
