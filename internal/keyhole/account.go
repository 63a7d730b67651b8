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
	// CredentialsVersion counts the changes that must end what was checked
	// against the account's credentials before: the password changed or
	// reset, the email changed or a change of it asked for, two-factor
	// authentication turned on or off, every other session ended. A
	// sign-in checked against one version, a pending second step and
	// every mailed link (verification, reset, email change) made at one
	// version are refused once it moved on.
	CredentialsVersion int64
	LastLogin          time.Time // zero when never logged in
	CreatedAt          time.Time
	UpdatedAt          time.Time
}
