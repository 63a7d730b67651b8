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
)

// metadata is the part of Keyhole's authorization server metadata (RFC 8414
// §2) the bouncer uses.
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

func (b *Bouncer) fetchMetadata(ctx context.Context) (*metadata, error) {
	u := metadataURL(b.issuer)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	// The metadata is answered where it was asked for, never redirected.
	hc := *b.hc
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Do(req)
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
	if err := md.validate(b.issuer); err != nil {
		return nil, fmt.Errorf("metadata at %s: %w", u, err)
	}
	return &md, nil
}

// validate holds the metadata to what the bouncer relies on.
func (m *metadata) validate(issuer string) error {
	// RFC 8414 §3.3: the issuer must be identical to the one the metadata
	// was looked up with, or the endpoints are another server's.
	if m.Issuer != issuer {
		return fmt.Errorf("issuer %q is not the configured %q", m.Issuer, issuer)
	}
	scheme := strings.SplitN(issuer, ":", 2)[0]
	for _, e := range []struct{ name, url string }{
		{"authorization_endpoint", m.AuthorizationEndpoint},
		{"token_endpoint", m.TokenEndpoint},
		{"revocation_endpoint", m.RevocationEndpoint},
	} {
		if e.url == "" && e.name == "revocation_endpoint" {
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
