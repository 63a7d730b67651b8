package bouncer

import (
	"crypto/subtle"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
	"golang.org/x/oauth2"
)

// maxPending is how many started sign-ins a browser may have at once (one
// per tab, say); the oldest is dropped beyond it.
const maxPending = 3

// session is what the cookie holds, encrypted and signed: the sign-ins
// started in this browser and, once one has finished, the grant.
type session struct {
	Pending []pendingLogin `json:"p,omitempty"`
	Auth    *signedIn      `json:"a,omitempty"`
}

// pendingLogin is a sign-in sent to Keyhole and not yet back: its state,
// PKCE verifier and, on OpenID Connect, nonce, kept here and checked at
// the callback (RFC 6749 §10.12, RFC 7636 §4.1, OpenID Connect Core 1.0
// §3.1.2.1), and the path to return to.
type pendingLogin struct {
	State    string    `json:"s"`
	Verifier string    `json:"v"`
	Nonce    string    `json:"o,omitempty"`
	Next     string    `json:"n"`
	Started  time.Time `json:"t"`
}

// signedIn is a finished sign-in: the tokens and when the session ends.
// On plain OAuth the account is not kept: it is read from Keyhole on every
// request. On OpenID Connect it is the ID token's, kept with the raw ID
// token, which signing out sends back to Keyhole as id_token_hint.
type signedIn struct {
	Access      string    `json:"at"`
	Refresh     string    `json:"rt,omitempty"`
	TokenExpiry time.Time `json:"te"`
	Expires     time.Time `json:"ex"`
	// Subject, Email and Name are the ID token's sub, email and name;
	// Subject is "" on plain OAuth.
	Subject string `json:"sub,omitempty"`
	Email   string `json:"em,omitempty"`
	Name    string `json:"nm,omitempty"`
	// IDToken is the raw ID token of the sign-in or of its latest refresh;
	// "" on plain OAuth, or when it did not fit in the cookie (see encode).
	IDToken string `json:"it,omitempty"`
}

// openID reports whether the session is an OpenID Connect sign-in's.
func (a *signedIn) openID() bool { return a.Subject != "" }

func (a *signedIn) account() Account {
	return Account{ID: a.Subject, Email: a.Email, Name: a.Name}
}

// setIDToken keeps a verified ID token and the account it names.
func (a *signedIn) setIDToken(raw string, acct Account) {
	a.IDToken, a.Subject, a.Email, a.Name = raw, acct.ID, acct.Email, acct.Name
}

func (a *signedIn) token() *oauth2.Token {
	return &oauth2.Token{AccessToken: a.Access, TokenType: "Bearer", RefreshToken: a.Refresh, Expiry: a.TokenExpiry}
}

// setToken keeps t, and the refresh token it rotated to (RFC 6749 §6: the
// previous one may no longer work).
func (a *signedIn) setToken(t *oauth2.Token) {
	a.Access, a.TokenExpiry = t.AccessToken, t.Expiry
	if t.RefreshToken != "" {
		a.Refresh = t.RefreshToken
	}
}

// addPending records a started sign-in, dropping those too old and, beyond
// maxPending, the oldest.
func (s *session) addPending(p pendingLogin, now time.Time) {
	kept := []pendingLogin{}
	for _, q := range s.Pending {
		if now.Sub(q.Started) < loginLife {
			kept = append(kept, q)
		}
	}
	if len(kept) >= maxPending {
		kept = kept[len(kept)-maxPending+1:]
	}
	s.Pending = append(kept, p)
}

// takePending removes and returns the started sign-in with this state: a
// callback is answered once. It is false when none matches or the match is
// older than loginLife.
func (s *session) takePending(state string, now time.Time) (pendingLogin, bool) {
	for i, p := range s.Pending {
		if subtle.ConstantTimeCompare([]byte(p.State), []byte(state)) == 1 {
			s.Pending = append(s.Pending[:i:i], s.Pending[i+1:]...)
			return p, now.Sub(p.Started) < loginLife
		}
	}
	return pendingLogin{}, false
}

// cookieJar reads and writes the session cookie: HttpOnly, SameSite=Lax
// (the callback is a top-level navigation from Keyhole, which Lax lets the
// cookie ride along), and Secure with the __Host- prefix over https. It is
// a browser-session cookie; the 8-hour life is kept inside it, so that an
// expired session can be told apart from none and explained.
type cookieJar struct {
	name   string
	codec  *securecookie.SecureCookie
	secure bool
}

func newCookieJar(hashKey, blockKey []byte, secure bool) cookieJar {
	codec := securecookie.New(hashKey, blockKey)
	codec.SetSerializer(securecookie.JSONEncoder{})
	// securecookie's own timestamp check, a bound on a stolen cookie; the
	// session's Expires ends it first.
	codec.MaxAge(int((SessionLife + loginLife) / time.Second))
	j := cookieJar{name: "bouncer", codec: codec, secure: secure}
	if secure {
		j.name = "__Host-bouncer"
	}
	// A browser keeps a cookie whose name and value together have 4096
	// bytes at most (RFC 6265 §6.1).
	codec.MaxLength(4096 - len(j.name+"="))
	return j
}

// load returns the request's session; a missing, forged, tampered or
// outdated cookie is an empty one.
func (j cookieJar) load(r *http.Request) *session {
	s := &session{}
	c, err := r.Cookie(j.name)
	if err != nil {
		return s
	}
	if err := j.codec.Decode(j.name, c.Value, s); err != nil {
		return &session{}
	}
	return s
}

// save writes s to the response, or deletes the cookie when s holds
// nothing. It must run before the response's header is written. On failure
// it answers the request itself and returns false.
func (b *Bouncer) save(w http.ResponseWriter, r *http.Request, s *session) bool {
	c := &http.Cookie{Name: b.cookies.name, Path: "/", HttpOnly: true, Secure: b.cookies.secure, SameSite: http.SameSiteLaxMode}
	if s.Auth == nil && len(s.Pending) == 0 {
		if _, err := r.Cookie(b.cookies.name); err != nil {
			return true
		}
		c.MaxAge = -1
		http.SetCookie(w, c)
		return true
	}
	v, err := b.cookies.encode(s)
	if err != nil {
		b.fail(w, r, problemInternal, err)
		return false
	}
	c.Value = v
	http.SetCookie(w, c)
	return true
}

// encode seals s for the cookie, which securecookie refuses to make longer
// than a browser keeps (see newCookieJar). When s does not fit, the
// oldest started sign-ins (beyond the newest) are dropped, then the ID
// token, so that signing out sends Keyhole the client_id alone and Keyhole
// asks the person to confirm. What still does not fit is an error. A
// signed-in session with its ID token and three sign-ins under way takes
// about 3500 bytes; a long next path is what pushes it over.
func (j cookieJar) encode(s *session) (string, error) {
	for {
		v, err := j.codec.Encode(j.name, s)
		switch {
		case err == nil:
			return v, nil
		case len(s.Pending) > 1:
			s.Pending = s.Pending[1:]
		case s.Auth != nil && s.Auth.IDToken != "":
			s.Auth.IDToken = ""
		default:
			return "", err
		}
	}
}
