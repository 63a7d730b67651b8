// Package bouncer lets only people signed in with Keyhole through to an
// http.Handler: the Go counterpart of Heroku's Bouncer middleware, for any
// web app that wants "Sign in with Keyhole".
//
// It owns the whole flow: the sign-in redirect (the authorization code flow
// with a random per-login state, nonce and PKCE S256, RFC 7636), the
// callback (state, the iss parameter of RFC 9207, the error parameter), an
// encrypted and signed cookie session that lasts 8 hours
// (gorilla/securecookie), token refresh (the rotated refresh token is
// written back to the session), sign-out with revocation at Keyhole (RFC
// 7009), and the signed-in account on the request context.
//
// By default it signs people in with OpenID Connect (scope "openid email
// profile"), through github.com/coreos/go-oidc/v3: Keyhole's endpoints come
// from its discovery document, whose issuer must equal the configured one;
// the ID token of the callback is verified (signature, iss, aud, exp), its
// nonce must be the one this sign-in sent and its at_hash must match the
// access token; the account is the ID token's (sub, email, name). Signing
// out also signs the browser out of Keyhole (RP-Initiated Logout 1.0),
// coming back to Config.PostLogoutURL. (An app whose Content-Security-Policy
// has form-action lets Keyhole's origin in: the sign-out form's answer
// redirects there.)
//
// Scopes without openid (Heroku's, such as identity or read) make it a
// plain OAuth 2.0 sign-in instead: the endpoints come from Keyhole's server
// metadata (RFC 8414) and the account from the Platform API's GET /account.
//
//	b, err := bouncer.New(bouncer.Config{
//		Issuer:        "https://id.example.com",
//		ClientID:      os.Getenv("KEYHOLE_OAUTH_ID"),
//		ClientSecret:  os.Getenv("KEYHOLE_OAUTH_SECRET"),
//		RedirectURL:   "https://app.example.com/auth/callback",
//		PostLogoutURL: "https://app.example.com/", // registered on the client
//		HashKey:       []byte(os.Getenv("COOKIE_SECRET")),  // 32 bytes or more
//		BlockKey:      []byte(os.Getenv("COOKIE_ENCRYPT")), // 16, 24 or 32 bytes
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	http.ListenAndServe(":8080", b.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//		a, _ := bouncer.AccountFrom(r.Context())
//		fmt.Fprintf(w, "Hello %s", a.Email)
//	})))
//
// Every request that reaches a protected handler is checked with Keyhole,
// with the session's token, refreshed first when it has expired (a new ID
// token from the refresh is verified too and must name the same person):
// at the userinfo endpoint, whose sub must be the ID token's (OpenID
// Connect Core 1.0 §5.3.2), or with GET /account on plain OAuth. So a
// revoked authorization is noticed on the next request: the bouncer
// forgets the token and asks the person to sign in again. Whatever goes
// wrong (consent declined, a wrong, missing or replayed state, an ID token
// that does not check out, an expired session, Keyhole unreachable) the
// person gets a page that says what happened and offers a way back, never
// an error dump; Config.Render draws those pages in the app's own style.
package bouncer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"

	"github.com/keyhole/keyhole/internal/keyhole"
)

// SessionLife is how long a sign-in lasts. After it the person signs in
// again, however busy the session was.
const SessionLife = 8 * time.Hour

// loginLife bounds how long a started sign-in may take to come back to the
// callback; it covers signing up at Keyhole on the way.
const loginLife = 30 * time.Minute

// Config configures a Bouncer. Issuer, ClientID, ClientSecret, RedirectURL,
// HashKey and BlockKey are required.
type Config struct {
	// Issuer is Keyhole's public URL, such as https://id.example.com. It
	// must equal the issuer in Keyhole's metadata; the Platform API is
	// served at the same origin.
	Issuer string
	// ClientID and ClientSecret are the OAuth client's credentials
	// (`keyhole clients:create`).
	ClientID, ClientSecret string
	// RedirectURL is the client's registered redirect URI. The bouncer
	// answers the callback at its path.
	RedirectURL string
	// HashKey signs the session cookie (HMAC-SHA256): 32 bytes or more.
	// BlockKey encrypts it (AES): 16, 24 or 32 bytes, not equal to HashKey.
	HashKey, BlockKey []byte
	// Scopes are what the app needs; they are asked for at sign-in and the
	// grant must hold them (a stronger scope counts). Empty means openid,
	// email and profile.
	//
	// With openid among them the sign-in is OpenID Connect: the account is
	// the ID token's, and its email and name are there only with the email
	// and profile scopes. Without openid it is plain OAuth: the bouncer
	// reads the account with GET /account, so it asks for identity too
	// (unless global is among them). The OpenID scopes reach no Platform
	// API route: an app that calls it with Client adds the scopes it needs
	// (read, say).
	Scopes []string
	// PostLogoutURL is where Keyhole sends the browser once signed out of
	// an OpenID Connect session: an absolute URL, which must be registered
	// on the client (`keyhole clients:create NAME REDIRECT_URI
	// --post-logout-redirect-uri URL`), or Keyhole refuses the sign-out.
	// Empty means Keyhole shows its own "signed out" page. It needs openid
	// in Scopes.
	PostLogoutURL string
	// AllowEmails and AllowDomains, when either is set, let in only those
	// email addresses and the addresses of those domains (exactly the
	// domain, not its subdomains; case does not matter). Anyone else gets
	// 403 and their grant is revoked. On OpenID Connect they need the email
	// scope.
	AllowEmails, AllowDomains []string
	// Public tells which requests pass without a sign-in, such as a home
	// page with the "Sign in with Keyhole" button. Nil protects every path
	// but the bouncer's own.
	Public func(*http.Request) bool
	// SignInPath starts a sign-in (GET, with ?next=/path to come back to);
	// default /auth/signin. SignOutPath signs out (POST; GET shows a
	// button); default /auth/signout.
	SignInPath, SignOutPath string
	// Home is where a person is sent after signing out of a plain OAuth
	// session, and the way back from pages that have nowhere better;
	// default /.
	Home string
	// AppName names the app on the bouncer's pages; default "this app".
	AppName string
	// Render draws the bouncer's pages; nil uses a plain built-in page.
	// It must write p.Status.
	Render func(w http.ResponseWriter, r *http.Request, p Page)
	// HTTPClient makes the calls to Keyhole; nil means a client with a
	// 10-second timeout.
	HTTPClient *http.Client
	// Log receives warnings (Keyhole unreachable, refused sign-ins) and
	// errors; nil discards them. Tokens never reach it.
	Log *slog.Logger
	// Now is the clock of session and sign-in lifetimes; nil is time.Now.
	Now func() time.Time
}

// Bouncer guards handlers with "Sign in with Keyhole". It is safe for
// concurrent use.
type Bouncer struct {
	issuer       string
	apiURL       string
	clientID     string
	clientSecret string
	redirectURL  string
	scopes       []string
	openID       bool
	postLogout   string
	allowEmails  []string
	allowDomains []string
	public       func(*http.Request) bool
	paths        struct{ signIn, callback, signOut string }
	home         string
	appName      string
	render       func(http.ResponseWriter, *http.Request, Page)
	hc           *http.Client
	log          *slog.Logger
	now          func() time.Time
	cookies      cookieJar
	signOutH     http.Handler

	md       atomic.Pointer[metadata]
	fetching singleflight.Group
}

// New checks the configuration and returns a Bouncer. It reports every
// problem of cfg at once. It does not call Keyhole: the metadata is fetched
// at the first sign-in, so the app can start before Keyhole does.
func New(cfg Config) (*Bouncer, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	issuer := strings.TrimRight(cfg.Issuer, "/")
	if u, err := url.Parse(issuer); cfg.Issuer == "" {
		bad("Issuer is required: Keyhole's URL")
	} else if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		bad("Issuer %q is not an http(s) URL without query or fragment", cfg.Issuer)
	}
	if cfg.ClientID == "" {
		bad("ClientID is required")
	}
	if cfg.ClientSecret == "" {
		bad("ClientSecret is required")
	}
	redirect, err := url.Parse(cfg.RedirectURL)
	if cfg.RedirectURL == "" {
		bad("RedirectURL is required: the client's registered redirect URI")
	} else if err != nil || (redirect.Scheme != "https" && redirect.Scheme != "http") || redirect.Host == "" || redirect.Path == "" || redirect.Fragment != "" {
		bad("RedirectURL %q is not an http(s) URL with a path", cfg.RedirectURL)
	}
	switch {
	case len(cfg.HashKey) < 32:
		bad("HashKey must be at least 32 bytes, has %d", len(cfg.HashKey))
	//secretcmp:ok the application's own configuration, checked once at start
	case string(cfg.HashKey) == string(cfg.BlockKey):
		bad("HashKey and BlockKey must differ")
	}
	if n := len(cfg.BlockKey); n != 16 && n != 24 && n != 32 {
		bad("BlockKey must be 16, 24 or 32 bytes, has %d", n)
	}
	scopes := slices.Clone(cfg.Scopes)
	if len(scopes) == 0 {
		scopes = []string{keyhole.ScopeOpenID, keyhole.ScopeEmail, keyhole.ScopeProfile}
	}
	for _, s := range scopes {
		if !keyhole.ValidScope(s) {
			bad("Scopes: unknown scope %q (known: %s)", s, strings.Join(keyhole.Scopes, ", "))
		}
	}
	openID := keyhole.OpenID(scopes)
	if !openID && !keyhole.Grants(scopes, keyhole.ScopeIdentity) {
		scopes = append(scopes, keyhole.ScopeIdentity)
	}
	if openID && (len(cfg.AllowEmails) > 0 || len(cfg.AllowDomains) > 0) && !slices.Contains(scopes, keyhole.ScopeEmail) {
		bad("AllowEmails and AllowDomains need the email scope beside openid: the ID token has no email without it")
	}
	if cfg.PostLogoutURL != "" {
		u, err := url.Parse(cfg.PostLogoutURL)
		switch {
		case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "":
			bad("PostLogoutURL %q is not an absolute http(s) URL without fragment", cfg.PostLogoutURL)
		case !openID:
			bad("PostLogoutURL needs openid in Scopes: a plain OAuth sign-out does not sign out of Keyhole")
		}
	}
	var emails, domains []string
	for _, e := range cfg.AllowEmails {
		e = strings.ToLower(strings.TrimSpace(e))
		if i := strings.LastIndexByte(e, '@'); i <= 0 || i == len(e)-1 {
			bad("AllowEmails: %q is not an email address", e)
		}
		emails = append(emails, e)
	}
	for _, d := range cfg.AllowDomains {
		d = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(d)), "@")
		if d == "" || strings.ContainsAny(d, "@/ ") {
			bad("AllowDomains: %q is not a domain", d)
		}
		domains = append(domains, d)
	}
	b := &Bouncer{
		issuer: issuer, apiURL: issuer, clientID: cfg.ClientID, clientSecret: cfg.ClientSecret,
		redirectURL: cfg.RedirectURL, scopes: keyhole.NormalizeScopes(scopes), openID: openID, postLogout: cfg.PostLogoutURL,
		allowEmails: emails, allowDomains: domains, public: cfg.Public,
		home: cfg.Home, appName: cfg.AppName, render: cfg.Render, hc: cfg.HTTPClient, log: cfg.Log, now: cfg.Now,
	}
	b.paths.signIn, b.paths.signOut = cfg.SignInPath, cfg.SignOutPath
	if b.paths.signIn == "" {
		b.paths.signIn = "/auth/signin"
	}
	if b.paths.signOut == "" {
		b.paths.signOut = "/auth/signout"
	}
	for _, p := range []string{b.paths.signIn, b.paths.signOut} {
		if !strings.HasPrefix(p, "/") {
			bad("SignInPath and SignOutPath must start with /: %q", p)
		}
	}
	if redirect != nil {
		b.paths.callback = redirect.Path
		if b.paths.callback == b.paths.signIn || b.paths.callback == b.paths.signOut {
			bad("RedirectURL's path %q is also SignInPath or SignOutPath", b.paths.callback)
		}
	}
	if b.home == "" {
		b.home = "/"
	}
	if b.appName == "" {
		b.appName = "this app"
	}
	if b.render == nil {
		b.render = defaultRender
	}
	if b.hc == nil {
		b.hc = &http.Client{Timeout: 10 * time.Second}
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if b.now == nil {
		b.now = time.Now
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("bouncer: %w", errors.Join(errs...))
	}
	b.cookies = newCookieJar(cfg.HashKey, cfg.BlockKey, redirect.Scheme == "https")
	// Signing out is a POST from the app's own pages: refused when a
	// browser says it comes from another site (Sec-Fetch-Site, Origin).
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.fail(w, r, problemCrossSite, nil)
	}))
	b.signOutH = cop.Handler(http.HandlerFunc(b.signOut))
	return b, nil
}

// Wrap returns a handler that answers the bouncer's own paths (sign-in,
// callback, sign-out) and lets through to next only the requests Public
// lets pass and those of a person signed in with Keyhole, whose Account is
// then on the request's context.
//
// A request without a session is sent to sign in (a GET or HEAD) or
// answered 401 (any other method: its body cannot survive the trip).
func (b *Bouncer) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case b.paths.signIn:
			b.signIn(w, r)
		case b.paths.callback:
			b.callback(w, r)
		case b.paths.signOut:
			b.signOutH.ServeHTTP(w, r)
		default:
			if b.public != nil && b.public(r) {
				next.ServeHTTP(w, r)
				return
			}
			b.guard(w, r, next)
		}
	})
}

// Account is the signed-in person. On OpenID Connect it is what the ID
// token of the sign-in (or of its latest refresh) says: ID is its sub, and
// Email and Name are empty without the email and profile scopes. On plain
// OAuth it is what Keyhole's GET /account answered on this request.
type Account struct {
	ID, Email, Name string
}

type contextKey struct{}

type signedInContext struct {
	account Account
	token   *oauth2.Token
	hc      *http.Client
}

// AccountFrom returns the account of the person signed in, on a request
// that passed the bouncer's guard. It is false on a Public request.
func AccountFrom(ctx context.Context) (Account, bool) {
	v, ok := ctx.Value(contextKey{}).(signedInContext)
	return v.account, ok
}

// Client returns an HTTP client that calls the Platform API as the person
// signed in (their access token, freshly checked by the bouncer), or nil on
// a request that did not pass the guard. It reaches what Config.Scopes
// grant: nothing of the Platform API with the OpenID scopes alone. The
// client never refreshes: the
// bouncer has done so before the handler ran, so that the rotated refresh
// token could go into the session cookie.
func Client(ctx context.Context) *http.Client {
	v, ok := ctx.Value(contextKey{}).(signedInContext)
	if !ok {
		return nil
	}
	return oauth2.NewClient(context.WithValue(context.Background(), oauth2.HTTPClient, v.hc), oauth2.StaticTokenSource(v.token))
}

// guard lets a signed-in person through: it checks the session's token
// with Keyhole (refreshed first when it has expired), writes a rotated
// token and a new ID token back into the session, and puts the account on
// the context.
func (b *Bouncer) guard(w http.ResponseWriter, r *http.Request, next http.Handler) {
	s := b.cookies.load(r)
	if s.Auth == nil {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			http.Redirect(w, r, b.signInURL(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		b.fail(w, r, problemSignInRequired, nil)
		return
	}
	if !b.now().Before(s.Auth.Expires) {
		s.Auth = nil
		if b.save(w, r, s) {
			b.fail(w, r, problemExpired, nil)
		}
		return
	}
	c, p, err := b.check(r.Context(), s.Auth)
	if p != nil {
		if p.forget {
			s.Auth = nil
			if !b.save(w, r, s) {
				return
			}
		}
		b.fail(w, r, p, err)
		return
	}
	//secretcmp:ok both come from Keyhole: the token answer and the sealed session cookie, which nobody else can write
	if c.token.AccessToken != s.Auth.Access || (c.token.RefreshToken != "" && c.token.RefreshToken != s.Auth.Refresh) || c.idToken != "" {
		s.Auth.setToken(c.token)
		if c.idToken != "" {
			s.Auth.setIDToken(c.idToken, c.account)
		}
		if !b.save(w, r, s) {
			return
		}
	}
	ctx := context.WithValue(r.Context(), contextKey{}, signedInContext{account: c.account, token: c.token, hc: b.hc})
	next.ServeHTTP(w, r.WithContext(ctx))
}

// checked is what a check of a session's grant found: the token to use
// (refreshed or not), the account, and a new raw ID token when a refresh
// brought one.
type checked struct {
	token   *oauth2.Token
	account Account
	idToken string
}

// check asks Keyhole whether the session's token is still good and whose
// it is, refreshing the token first when it has expired. A problem that
// ends the grant (revoked, not allowed, scope, another person) has forget
// set, and the grant is revoked at Keyhole when Keyhole still honours it.
func (b *Bouncer) check(ctx context.Context, auth *signedIn) (checked, *problem, error) {
	md, err := b.metadata(ctx)
	if err != nil {
		return checked{}, problemUnreachable, err
	}
	ctx = b.oauthContext(ctx)
	fresh, err := b.oauthConfig(md).TokenSource(ctx, auth.token()).Token()
	if err != nil {
		// RFC 6749 §5.2: a refused refresh token (invalid_grant) means the
		// grant is gone; a 5xx or no answer means Keyhole is in trouble.
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			return checked{}, problemRevoked, err
		}
		return checked{}, problemUnreachable, err
	}
	c := checked{token: fresh}
	var p *problem
	if md.provider != nil {
		c, p, err = b.checkOpenID(ctx, md, auth, fresh)
	} else {
		c.account, err = fetchAccount(ctx, b.hc, b.apiURL, fresh.AccessToken)
		switch {
		case errors.Is(err, errUnauthorized):
			p = problemRevoked
		case errors.Is(err, errForbidden):
			b.revokeQuietly(ctx, md, fresh)
			p = problemScope
		case err != nil:
			p = problemUnreachable
		}
	}
	if p != nil {
		return checked{}, p, err
	}
	if !b.allowed(c.account.Email) {
		b.revokeQuietly(ctx, md, fresh)
		return checked{}, problemNotAllowed.about(c.account.Email), nil
	}
	return c, nil, nil
}

// allowed applies AllowEmails and AllowDomains.
func (b *Bouncer) allowed(email string) bool {
	if len(b.allowEmails) == 0 && len(b.allowDomains) == 0 {
		return true
	}
	email = strings.ToLower(email)
	if slices.Contains(b.allowEmails, email) {
		return true
	}
	i := strings.LastIndexByte(email, '@')
	return i >= 0 && slices.Contains(b.allowDomains, email[i+1:])
}

// signInURL is the bouncer's sign-in path, coming back to next.
func (b *Bouncer) signInURL(next string) string {
	return b.paths.signIn + "?" + url.Values{"next": {localPath(next, b.home)}}.Encode()
}

// localPath returns next when it is a path on this site, else def: the
// sign-in only ever sends people back here (no open redirect).
func localPath(next, def string) string {
	if next == "" || len(next) > 1024 || next[0] != '/' || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return def
	}
	return next
}

// oauthContext carries the bouncer's HTTP client to golang.org/x/oauth2,
// which takes it only from a context.
func (b *Bouncer) oauthContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, b.hc)
}

func (b *Bouncer) oauthConfig(md *metadata) *oauth2.Config {
	style := oauth2.AuthStyleInParams
	if md.basicAuth() {
		// Said once, so that a refused request is not sent twice (x/oauth2
		// retries with the other style when left to guess).
		style = oauth2.AuthStyleInHeader
	}
	return &oauth2.Config{
		ClientID: b.clientID, ClientSecret: b.clientSecret, RedirectURL: b.redirectURL, Scopes: b.scopes,
		Endpoint: oauth2.Endpoint{AuthURL: md.AuthorizationEndpoint, TokenURL: md.TokenEndpoint, AuthStyle: style},
	}
}
