package keyhole

import "time"

// Account is a person signed up to Keyhole.
type Account struct {
	ID           string
	Email        string // unique, compared case-insensitively
	Name         string // "" when not set
	PasswordHash string // argon2id PHC string; never leaves the server
	// EmailVerified is set once the person followed a link mailed to
	// Email (or an administrator made the account).
	EmailVerified bool
	// MFAEnabled: signing in needs a one-time code (TOTP, RFC 6238) or a
	// recovery code besides the password. The seed is kept apart, sealed.
	MFAEnabled bool
	// CredentialsVersion counts changes of the password and email: a
	// sign-in checked against one version is refused once it moved on.
	CredentialsVersion int64
	LastLogin          time.Time // zero when never logged in
	CreatedAt          time.Time
	UpdatedAt          time.Time
}
