package bouncer

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
)

// metadata is the part of Keyhole's authorization server metadata (RFC 8414
// §2) the bouncer uses, or of its OpenID Connect discovery document
// (Discovery 1.0 §3), the same document at another address.
type metadata struct {
	Issuer                   string   `json:"issuer"`
	AuthorizationEndpoint    string   `json:"authorization_endpoint"`
	TokenEndpoint            string   `json:"token_endpoint"`
	RevocationEndpoint       string   `json:"revocation_endpoint"`
	ResponseTypes            []string `json:"response_types_supported"`
	CodeChallengeMethods     []string `json:"code_challenge_methods_supported"`
	TokenAuthMethods         []string `json:"token_endpoint_auth_methods_supported"`
	RevocationAuthMethods    []string `json:"revocation_endpoint_auth_methods_supported"`
	AuthorizationResponseIss bool     `json:"authorization_response_iss_parameter_supported"`
	JWKSURI                  string   `json:"jwks_uri"`
	UserinfoEndpoint         string   `json:"userinfo_endpoint"`
	EndSessionEndpoint       string   `json:"end_session_endpoint"`

	// provider and verifier are go-oidc's view of Keyhole, on OpenID
	// Connect only; nil on plain OAuth.
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
}

// basicAuth reports whether the token endpoint takes client_secret_basic,
// RFC 8414 §2's default when the server names no method.
func (m *metadata) basicAuth() bool {
	return len(m.TokenAuthMethods) == 0 || slices.Contains(m.TokenAuthMethods, "client_secret_basic")
}

// metadata returns Keyhole's metadata, fetched once and kept for the life
// of the Bouncer; a failed fetch is tried again on the next request.
// Requests arriving during a fetch share its result rather than queue
// behind it or fetch again.
func (b *Bouncer) metadata(ctx context.Context) (*metadata, error) {
	if md := b.md.Load(); md != nil {
		return md, nil
	}
	v, err, _ := b.fetching.Do("", func() (any, error) {
		// Not the first caller's context: its cancellation must not fail
		// the others; the HTTP client's timeout bounds the fetch.
		md, err := b.fetchMetadata(context.WithoutCancel(ctx))
		if err != nil {
			return nil, err
		}
		b.md.Store(md)
		return md, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*metadata), nil
}

// metadataURL is where RFC 8414 §3.1 puts the metadata of an issuer: the
// well-known path goes between the host and the issuer's own path.
func metadataURL(issuer string) string {
	u, _ := url.Parse(issuer)
	u.Path = "/.well-known/oauth-authorization-server" + strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u.String()
}

// fetchMetadata reads the OAuth metadata (RFC 8414), or on OpenID Connect
// the discovery document.
func (b *Bouncer) fetchMetadata(ctx context.Context) (*metadata, error) {
	if b.openID {
		return b.discover(ctx)
	}
	u := metadataURL(b.issuer)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := b.noRedirect().Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch %s: status %d", u, resp.StatusCode)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" {
		return nil, fmt.Errorf("fetch %s: content type %q, want application/json", u, mt)
	}
	var md metadata
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&md); err != nil {
		return nil, fmt.Errorf("fetch %s: %w", u, err)
	}
	if err := md.validate(b.issuer, false); err != nil {
		return nil, fmt.Errorf("metadata at %s: %w", u, err)
	}
	return &md, nil
}

// noRedirect is the bouncer's HTTP client for the metadata, which is
// answered where it was asked for, never redirected.
func (b *Bouncer) noRedirect() *http.Client {
	hc := *b.hc
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &hc
}

// discover reads Keyhole's OpenID Connect discovery document with go-oidc
// (Discovery 1.0 §4), which refuses it unless its issuer is exactly the
// configured one (§4.3), and keeps go-oidc's ID token verifier for the
// client: signature by a key of the jwks_uri, iss, aud, exp (Core 1.0
// §3.1.3.7).
func (b *Bouncer) discover(ctx context.Context) (*metadata, error) {
	u := b.issuer + "/.well-known/openid-configuration"
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, b.noRedirect()), b.issuer)
	if err != nil {
		return nil, fmt.Errorf("discovery at %s: %w", u, err)
	}
	var md metadata
	if err := p.Claims(&md); err != nil {
		return nil, fmt.Errorf("discovery at %s: %w", u, err)
	}
	if err := md.validate(b.issuer, true); err != nil {
		return nil, fmt.Errorf("discovery at %s: %w", u, err)
	}
	md.provider = p
	md.verifier = p.Verifier(&oidc.Config{ClientID: b.clientID, Now: b.now})
	return &md, nil
}

// validate holds the metadata to what the bouncer relies on; openID adds
// what an OpenID Connect sign-in needs.
func (m *metadata) validate(issuer string, openID bool) error {
	// RFC 8414 §3.3: the issuer must be identical to the one the metadata
	// was looked up with, or the endpoints are another server's.
	if m.Issuer != issuer {
		return fmt.Errorf("issuer %q is not the configured %q", m.Issuer, issuer)
	}
	scheme := strings.SplitN(issuer, ":", 2)[0]
	type endpoint struct {
		name, url string
		optional  bool
	}
	endpoints := []endpoint{
		{"authorization_endpoint", m.AuthorizationEndpoint, false},
		{"token_endpoint", m.TokenEndpoint, false},
		{"revocation_endpoint", m.RevocationEndpoint, true},
	}
	if openID {
		endpoints = append(endpoints, []endpoint{
			{"jwks_uri", m.JWKSURI, false},
			// Every request is checked there.
			{"userinfo_endpoint", m.UserinfoEndpoint, false},
			// Without it, signing out ends the app's session alone.
			{"end_session_endpoint", m.EndSessionEndpoint, true},
		}...)
	}
	for _, e := range endpoints {
		if e.url == "" && e.optional {
			continue
		}
		u, err := url.Parse(e.url)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			return fmt.Errorf("%s %q is not an http(s) URL", e.name, e.url)
		}
		if scheme == "https" && u.Scheme != "https" {
			return fmt.Errorf("%s %q is not https like the issuer", e.name, e.url)
		}
	}
	if len(m.ResponseTypes) > 0 && !slices.Contains(m.ResponseTypes, "code") {
		return fmt.Errorf("response_types_supported %q lacks code", m.ResponseTypes)
	}
	// RFC 8414 §2: no code_challenge_methods_supported means no PKCE.
	if !slices.Contains(m.CodeChallengeMethods, "S256") {
		return fmt.Errorf("code_challenge_methods_supported %q lacks S256", m.CodeChallengeMethods)
	}
	return nil
}
