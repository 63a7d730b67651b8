package keyhole

import "time"

// Client is a registered OAuth client. A confidential client has a secret;
// a public client (SecretHash empty) must use PKCE.
type Client struct {
	ID          string
	AccountID   string // the account that registered it
	Name        string
	RedirectURI string
	// PostLogoutRedirectURIs are where an OpenID Connect logout
	// (RP-Initiated Logout 1.0) may send the browser besides RedirectURI;
	// each must match exactly. Nil when none.
	PostLogoutRedirectURIs []string
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

// The built-in clients every Keyhole has, made by its migrations.
const (
	// CLIClientID is the public client of Keyhole's own command line and of
	// the Heroku CLI's browser login. It may use only the device flow; a
	// login approved for it in a browser is a CLI login session made
	// through that browser session, and ends with it.
	CLIClientID = "00000000-0000-4000-8000-000000000c11"
	// SystemAccountID owns the built-in clients. Nobody can sign in as it.
	SystemAccountID = "00000000-0000-4000-8000-000000000000"
)

// BuiltIn reports whether the client is one of Keyhole's own.
func (c Client) BuiltIn() bool { return c.ID == CLIClientID }
