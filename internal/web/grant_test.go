package web_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/service"
	"github.com/keyhole/keyhole/internal/store"
)

// grantsOf lists the account's authorizations of the client.
func grantsOf(t *testing.T, s oauthSetup, c service.ClientInfo) []keyhole.Authorization {
	t.Helper()
	list, err := s.ts.Store.ListAuthorizations(context.Background(), s.actor.AccountID, store.Range{})
	if err != nil {
		t.Fatal(err)
	}
	var out []keyhole.Authorization
	for _, a := range list {
		if a.ClientID == c.ID {
			out = append(out, a)
		}
	}
	return out
}

// liveTokens counts the authorization's unused tokens of each kind.
func liveTokens(t *testing.T, s oauthSetup, authID string) map[keyhole.TokenKind]int {
	t.Helper()
	tokens, err := s.ts.Store.Tokens(context.Background(), authID)
	if err != nil {
		t.Fatal(err)
	}
	n := map[keyhole.TokenKind]int{}
	for _, tk := range tokens {
		if tk.UsedAt.IsZero() {
			n[tk.Kind]++
		}
	}
	return n
}

// call is one request of b that reports its failures instead of ending
// the test, for goroutines.
func call(b *browser, method, u string, form url.Values, hdr ...string) (page, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return page{}, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		return page{}, err
	}
	defer resp.Body.Close()
	s, err := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, header: resp.Header, body: string(s)}, err
}

// redeem exchanges a code at the token endpoint, for goroutines.
func redeem(s oauthSetup, c service.ClientInfo, code string) (access string, err error) {
	basic := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(c.ID) + ":" + url.QueryEscape(c.Secret.Reveal())))
	p, err := call(newBrowser(nil), "POST", s.ts.URL+"/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}}, "Authorization", "Basic "+basic)
	if err != nil {
		return "", err
	}
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(p.body), &out); p.status != http.StatusOK || err != nil || out.AccessToken == "" {
		return "", fmt.Errorf("token endpoint: %d %s", p.status, p.body)
	}
	return out.AccessToken, nil
}

// codeOf reads the code from an authorization answer.
func codeOf(p page, c service.ClientInfo) (string, error) {
	loc := p.header.Get("Location")
	u, err := url.Parse(loc)
	if p.status != http.StatusSeeOther || err != nil || !strings.HasPrefix(loc, c.RedirectURI) || u.Query().Get("code") == "" {
		return "", fmt.Errorf("authorize: %d Location %q", p.status, loc)
	}
	return u.Query().Get("code"), nil
}

// TestAuthorizeReusesGrant checks that asking an application already
// approved for the same scopes gives the account's one grant a new code,
// rather than a new authorization: the tokens of the earlier code keep
// working until the new code is exchanged, which replaces them; a replay
// of the earlier code still revokes the grant; another scope is another
// grant. 20 concurrent consents, and then 20 concurrent authorizations,
// with their exchanges, all get working codes, into one authorization
// left with one live access and refresh token.
func TestAuthorizeReusesGrant(t *testing.T) {
	eachBackend(t, func(t *testing.T, be keyholetest.Backend) {
		s := oauthSetupOn(t, be)
		base := s.ts.URL
		c := s.client(t, "Acme", "https://client.example/cb", false)
		authz := s.authorizeURL("client_id", c.ID, "response_type", "code", "scope", "read")

		code1 := allow(t, s, s.b, consentPage(t, s, s.b, c, "read"), c)
		first := exchange(t, base, c, code1)
		access1 := fmt.Sprint(first["access_token"])
		q := redirected(t, s.b.do("GET", authz, nil), c.RedirectURI)
		code2 := q.Get("code")
		if grants := grantsOf(t, s, c); len(grants) != 1 {
			t.Fatalf("after a second authorization request: %d authorizations of the client, want 1", len(grants))
		}
		if p := api(t, base, "/apps", access1); p.status != http.StatusOK {
			t.Errorf("the first token before the new code is exchanged: %d, want 200", p.status)
		}
		second := exchange(t, base, c, code2)
		access2 := fmt.Sprint(second["access_token"])
		if p := api(t, base, "/apps", access2); p.status != http.StatusOK {
			t.Errorf("the new code's token: %d, want 200", p.status)
		}
		if p := api(t, base, "/apps", access1); p.status != http.StatusUnauthorized {
			t.Errorf("the first token after the new code's exchange: %d, want 401 (replaced)", p.status)
		}
		grant := grantsOf(t, s, c)[0]
		if n := liveTokens(t, s, grant.ID); n[keyhole.AccessToken] != 1 || n[keyhole.RefreshToken] != 1 || n[keyhole.GrantCode] != 0 {
			t.Errorf("live tokens of the grant: %v, want one access and one refresh token", n)
		}

		// Another scope is asked about, and is another grant.
		exchange(t, base, c, allow(t, s, s.b, consentPage(t, s, s.b, c, "identity"), c))
		if grants := grantsOf(t, s, c); len(grants) != 2 {
			t.Errorf("after consent to another scope: %d authorizations, want 2", len(grants))
		}

		// The first code, replayed, revokes the grant it was redeemed in,
		// with the tokens the later code got.
		if _, err := redeem(s, c, code1); err == nil {
			t.Error("a replayed code was exchanged")
		}
		if p := api(t, base, "/apps", access2); p.status != http.StatusUnauthorized {
			t.Errorf("the grant's token after a replay of its first code: %d, want 401", p.status)
		}
		if grants := grantsOf(t, s, c); len(grants) != 1 || slices.Equal(grants[0].Scope, []string{"read"}) {
			t.Errorf("after the replay: %+v, want only the identity grant", grants)
		}

		// 20 consents at once, then 20 authorizations at once, each with
		// its exchange.
		c2 := s.client(t, "Acme Two", "https://two.example/cb", false)
		consents := make([]url.Values, 20)
		for i := range consents {
			consents[i] = formFields(consentPage(t, s, s.b, c2, "read write"))
			consents[i].Set("authorize", "Allow")
		}
		authz2 := s.authorizeURL("client_id", c2.ID, "response_type", "code", "scope", "read write")
		for _, round := range []struct {
			name string
			ask  func(i int) (page, error)
		}{
			{"consents", func(i int) (page, error) { return call(s.b, "POST", base+"/oauth/authorize", consents[i]) }},
			{"authorizations", func(int) (page, error) { return call(s.b, "GET", authz2, nil) }},
		} {
			tokens := make([]string, 20)
			errs := make([]error, 20)
			var wg sync.WaitGroup
			for i := range 20 {
				wg.Go(func() {
					p, err := round.ask(i)
					var code string
					if err == nil {
						code, err = codeOf(p, c2)
					}
					if err == nil {
						tokens[i], err = redeem(s, c2, code)
					}
					errs[i] = err
				})
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("%s: request %d: %v", round.name, i, err)
				}
			}
			grants := grantsOf(t, s, c2)
			if len(grants) != 1 {
				t.Fatalf("20 concurrent %s made %d authorizations, want 1", round.name, len(grants))
			}
			if n := liveTokens(t, s, grants[0].ID); n[keyhole.AccessToken] != 1 || n[keyhole.RefreshToken] != 1 || n[keyhole.GrantCode] != 0 {
				t.Errorf("20 concurrent %s: live tokens %v, want one access and one refresh token", round.name, n)
			}
			working := 0
			for _, tok := range tokens {
				if tok != "" && api(t, base, "/apps", tok).status == http.StatusOK {
					working++
				}
			}
			if working != 1 {
				t.Errorf("20 concurrent %s: %d of the tokens work, want the last exchange's", round.name, working)
			}
		}
	})
}
