package keyhole

import "time"

// Authorization is the grant of a scope set by an account to a client, or to
// nobody (a direct authorization, such as the account's API key). It owns at
// most one live access token and refresh token, and the grant codes it was
// given, each for its ten minutes: an account has one grant per client and
// scope, given a code by every authorization request.
type Authorization struct {
	ID          string
	AccountID   string // "" for a client acting as itself (client credentials)
	ClientID    string // "" for a direct authorization
	SessionID   string // the login session it was made through, or ""
	Scope       []string
	Description string
	// Default marks the account's API key, the authorization named "~".
	Default   bool
	CreatedAt time.Time
	UpdatedAt time.Time
	// LastUsedAt is when one of its tokens was last used, to a minute or
	// so; zero when never.
	LastUsedAt time.Time
}

// TokenKind is the kind of a token or code belonging to an authorization.
type TokenKind string

// Token kinds.
const (
	AccessToken  TokenKind = "access"
	RefreshToken TokenKind = "refresh"
	GrantCode    TokenKind = "code"
)

// Token is an access token, refresh token or grant code. The server keeps only
// its SHA-256 hash; Hint is a short, non-secret rendering (prefix…suffix) that
// lets a person recognise it, and Sealed an encrypted copy for the few tokens
// that must be shown again (the API key).
type Token struct {
	ID              string
	AuthorizationID string
	Kind            TokenKind
	Hash            string
	Hint            string
	Sealed          []byte
	ExpiresAt       time.Time // zero: never expires
	CreatedAt       time.Time
	// UsedAt is when a grant code was redeemed or a refresh token rotated;
	// zero while the token is live.
	UsedAt time.Time
	// Scope, when not nil, is what this token may do: a subset of its
	// authorization's scope, asked for on a refresh (RFC 6749 §6) or by a
	// client acting as itself. Nil means the authorization's scope.
	Scope []string
	// RedirectURI and CodeChallenge bind a grant code (RFC 6749 §4.1.3, RFC 7636).
	RedirectURI   string
	CodeChallenge string
	// SignIn, on the grant code of an OpenID Connect request and on the
	// refresh tokens that follow from it, is what their ID tokens say
	// about the sign-in; nil otherwise.
	SignIn *SignIn
}

// SignIn is the sign-in behind an OpenID Connect grant: when and how the
// person signed in, in which browser session, and the nonce the client
// sent (the code's only: a refreshed ID token carries none).
type SignIn struct {
	// AuthTime is when the person signed in; zero when the grant was
	// made without a browser sign-in (POST /oauth/authorizations).
	AuthTime  time.Time `json:"auth_time,omitzero"`
	AMR       []string  `json:"amr,omitempty"`
	SessionID string    `json:"sid,omitempty"`
	Nonce     string    `json:"nonce,omitempty"`
}

// ScopeOf returns what the token may do within its authorization a.
func (t Token) ScopeOf(a Authorization) []string {
	if t.Scope != nil {
		return t.Scope
	}
	return a.Scope
}

// Expired reports whether the token has an expiry at or before now.
func (t Token) Expired(now time.Time) bool {
	return !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)
}
