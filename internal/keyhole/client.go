package keyhole

import "time"

// Client is a registered OAuth client. A confidential client has a secret;
// a public client (SecretHash empty) must use PKCE.
type Client struct {
	ID          string
	AccountID   string // the account that registered it
	Name        string
	RedirectURI string
	// SecretHash is the SHA-256 lookup hash of the current secret, and
	// SecretSealed the secret encrypted under the server key, so that it can be
	// shown again. Both are empty for a public client.
	SecretHash   string
	SecretSealed []byte
	Trusted      bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Public reports whether the client has no secret.
func (c Client) Public() bool { return c.SecretHash == "" }
