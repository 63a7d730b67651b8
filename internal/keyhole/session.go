package keyhole

import "time"

// Session is a person's login session: a browser login, or a CLI login made
// with email and password.
type Session struct {
	ID          string
	AccountID   string
	Hash        string // SHA-256 of the session secret (the cookie value), "" for CLI logins
	Description string
	IP          string
	// ParentID is the browser session a CLI login was approved in: the
	// login ends with it. "" for browser sessions and password logins.
	ParentID  string
	UserAgent string
	CreatedAt time.Time
	ExpiresAt time.Time
	// LastSeenAt is when the session was last used, to a minute or so;
	// zero when never since it began.
	LastSeenAt time.Time
	// ReauthAt is when the person last entered their password again in
	// this (browser) session, which a few actions require to be recent.
	ReauthAt time.Time
	// AMR names how the person signed in (RFC 8176): "pwd", and "otp"
	// and "mfa" with a second factor. Nil for CLI logins.
	AMR []string
}
