// Package keyholeapi is a client of Keyhole's Platform API: Heroku's
// Platform API v3 as Keyhole serves it (account, OAuth authorizations,
// clients, tokens and sessions, apps and their config vars, teams with
// their members, invitations and apps, app collaborators and their
// permissions, rate limits, the activity log).
//
// Create a Client with New, giving the server's base URL and how to
// authenticate:
//
//	c, err := keyholeapi.New("https://id.example.com", keyholeapi.WithToken(os.Getenv("KEYHOLE_API_KEY")))
//	if err != nil { … }
//	acct, err := c.Account(ctx)
//
// Every call takes a context.Context and returns typed values. A request
// the server refuses returns an *Error carrying the API's error id, its
// message and the Request-Id of the answer, so that it can be reported or
// matched with errors.As:
//
//	var apiErr *keyholeapi.Error
//	if errors.As(err, &apiErr) && apiErr.ID == "not_found" { … }
//
// List calls follow the API's Range pagination for the caller: they send
// the Next-Range the server answers back until the list is complete.
//
// For OAuth 2.0 flows (authorization code, device authorization, token
// refresh) use golang.org/x/oauth2 with the configuration OAuth2Config
// returns; a token source from it can authenticate a Client too
// (WithTokenSource).
package keyholeapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// DefaultURL is where a Keyhole started with `keyhole serve` and no flags
// listens.
const DefaultURL = "http://127.0.0.1:5000"

// accept asks for version 3 of the Platform API.
const accept = "application/vnd.heroku+json; version=3"

// maxResponse bounds how much of an answer is read; every Platform API
// answer is far smaller, a full page of 1000 authorizations included.
const maxResponse = 32 << 20

// Client calls one Keyhole server. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	http      *http.Client
	token     oauth2.TokenSource
	userAgent string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the Client send its requests through hc, for
// example to set timeouts, proxies or a custom transport. The default is
// http.DefaultClient.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.http = hc
		}
	}
}

// WithToken authenticates every request with the access token (an API
// key, a CLI login's token or an OAuth access token) as
// Authorization: Bearer.
func WithToken(token string) Option {
	return func(c *Client) {
		if token != "" {
			c.token = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token, TokenType: "Bearer"})
		}
	}
}

// WithTokenSource authenticates every request with the current token of
// ts, such as the refreshing source of an oauth2.Config.
func WithTokenSource(ts oauth2.TokenSource) Option {
	return func(c *Client) { c.token = ts }
}

// WithUserAgent sets the User-Agent of every request.
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// New returns a Client of the Keyhole at baseURL, such as
// "https://id.example.com" or DefaultURL. It fails when baseURL is not an
// absolute http or https URL.
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("keyholeapi: the server URL %q must be an absolute http or https URL", baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("keyholeapi: the server URL %q must have no query or fragment", baseURL)
	}
	c := &Client{base: u, http: http.DefaultClient, userAgent: "keyholeapi-go"}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// URL returns the server's base URL.
func (c *Client) URL() string { return c.base.String() }

// Error is an answer of the server other than success: the Platform API's
// {"id", "message"} (or OAuth 2.0's {"error", "error_description"}) with
// the status and the request id of the answer.
type Error struct {
	// StatusCode is the HTTP status, such as 404.
	StatusCode int
	// ID is the API's error id, such as "not_found", "unauthorized",
	// "two_factor" or "rate_limit"; for the OAuth endpoints, the RFC 6749
	// error code.
	ID string
	// Message is the server's explanation, meant for people.
	Message string
	// Resource names the kind of thing that was not found, for not_found.
	Resource string
	// RequestID is the Request-Id header of the answer, which the server's
	// logs carry too.
	RequestID string
	// RetryAfter is how long the server asks to wait (Retry-After), for
	// rate_limit and unavailable answers; 0 when it did not say.
	RetryAfter time.Duration
}

// Error implements error: the message, the id and the request id.
func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	var b strings.Builder
	b.WriteString(msg)
	b.WriteString(" (")
	if e.ID != "" {
		b.WriteString(e.ID)
	} else {
		b.WriteString("HTTP " + strconv.Itoa(e.StatusCode))
	}
	if e.RequestID != "" {
		b.WriteString("; request id " + e.RequestID)
	}
	b.WriteString(")")
	return b.String()
}

// IsTwoFactor reports whether err is the server asking for a second
// factor (403 two_factor): log in again with the one-time code.
func IsTwoFactor(err error) bool { return errorID(err) == "two_factor" }

// IsNotFound reports whether err is a 404 not_found answer.
func IsNotFound(err error) bool { return errorID(err) == "not_found" }

// IsForbidden reports whether err is a 403 forbidden answer: the account
// may not do that, such as a team's member changing its members.
func IsForbidden(err error) bool { return errorID(err) == "forbidden" }

// IsUnauthorized reports whether err is a 401 answer: the token is
// missing, invalid, expired or revoked.
func IsUnauthorized(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.StatusCode == http.StatusUnauthorized
}

func errorID(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.ID
	}
	return ""
}

// request describes one API call.
type request struct {
	method, path string
	// body is encoded as JSON when not nil.
	body any
	// header is added to the request.
	header http.Header
	// basic, when set, replaces the token with HTTP Basic credentials.
	basic *[2]string
	// noAuth sends no credentials at all.
	noAuth bool
}

// response is a decoded answer's metadata.
type response struct {
	status int
	header http.Header
}

// do sends r and decodes a successful JSON answer into out (when not nil).
func (c *Client) do(ctx context.Context, r request, out any) (response, error) {
	var body io.Reader
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return response{}, fmt.Errorf("keyholeapi: encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	// Paths are built with each id escaped as one segment (escape).
	req, err := http.NewRequestWithContext(ctx, r.method, c.base.String()+r.path, body)
	if err != nil {
		return response{}, fmt.Errorf("keyholeapi: %w", err)
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", c.userAgent)
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, vs := range r.header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	switch {
	case r.basic != nil:
		req.SetBasicAuth(r.basic[0], r.basic[1])
	case r.noAuth || c.token == nil:
	default:
		tok, err := c.token.Token()
		if err != nil {
			return response{}, fmt.Errorf("keyholeapi: token: %w", err)
		}
		tok.SetAuthHeader(req)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return response{}, fmt.Errorf("keyholeapi: read the answer to %s %s: %w", r.method, r.path, err)
	}
	meta := response{status: resp.StatusCode, header: resp.Header}
	if resp.StatusCode >= 300 {
		return meta, decodeError(resp, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return meta, fmt.Errorf("keyholeapi: decode the answer to %s %s (request id %s): %w", r.method, r.path, resp.Header.Get("Request-Id"), err)
		}
	}
	return meta, nil
}

// decodeError reads an error answer: the API's {id, message} or OAuth's
// {error, error_description}; anything else keeps only the status.
func decodeError(resp *http.Response, data []byte) error {
	var body struct {
		ID               string `json:"id"`
		Message          string `json:"message"`
		Resource         string `json:"resource"`
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	_ = json.Unmarshal(data, &body)
	e := &Error{
		StatusCode: resp.StatusCode, ID: body.ID, Message: body.Message, Resource: body.Resource,
		RequestID: resp.Header.Get("Request-Id"),
	}
	if e.ID == "" {
		e.ID = body.Error
	}
	if e.Message == "" {
		e.Message = body.ErrorDescription
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	return e
}

// ListOptions tune a list call.
type ListOptions struct {
	// PageSize is how many items each request asks for (Range max=N);
	// 0 leaves it to the server (200; at most 1000).
	PageSize int
}

// maxPages stops a list whose server keeps answering Next-Range.
const maxPages = 10000

// list fetches every page of the list at path, following Next-Range.
// desc asks for the list in reverse id order (order=desc): for the
// activity log, newest first.
func list[T any](ctx context.Context, c *Client, path string, opts *ListOptions, desc bool) ([]T, error) {
	var params []string
	if opts != nil && opts.PageSize > 0 {
		params = append(params, "max="+strconv.Itoa(opts.PageSize))
	}
	if desc {
		params = append(params, "order=desc")
	}
	rng := ""
	if len(params) > 0 {
		rng = "id ..; " + strings.Join(params, ", ")
	}
	var all []T
	seen := map[string]bool{}
	for range maxPages {
		var page []T
		r := request{method: http.MethodGet, path: path}
		if rng != "" {
			r.header = http.Header{"Range": {rng}}
		}
		meta, err := c.do(ctx, r, &page)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		next := meta.header.Get("Next-Range")
		if next == "" || len(page) == 0 {
			if all == nil {
				all = []T{}
			}
			return all, nil
		}
		if seen[next] {
			return nil, fmt.Errorf("keyholeapi: the server repeated Next-Range %q for %s", next, path)
		}
		seen[next] = true
		rng = next
	}
	return nil, fmt.Errorf("keyholeapi: %s has more than %d pages", path, maxPages)
}

// escape makes an id or name one path segment.
func escape(s string) string { return url.PathEscape(s) }
