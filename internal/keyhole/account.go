package keyhole

import "time"

// Account is a person signed up to Keyhole.
type Account struct {
	ID           string
	Email        string // unique, compared case-insensitively
	Name         string // "" when not set
	PasswordHash string // argon2id PHC string; never leaves the server
	MFAEnabled   bool
	// CredentialsVersion counts changes of the password and email: a
	// sign-in checked against one version is refused once it moved on.
	CredentialsVersion int64
	LastLogin          time.Time // zero when never logged in
	CreatedAt          time.Time
	UpdatedAt          time.Time
}
