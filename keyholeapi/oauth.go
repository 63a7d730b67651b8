package keyholeapi

import (
	"context"

	"golang.org/x/oauth2"
)

// CLIClientID is the id of the OAuth client every Keyhole has built in for
// its command line: a public client (no secret) that may use only the
// device authorization grant (RFC 8628). A device login approved for it in
// a browser becomes a CLI login session that ends when that browser signs
// out, as a login with a password (Login) ends with its own session.
const CLIClientID = "00000000-0000-4000-8000-000000000c11"

// Endpoint returns the OAuth 2.0 endpoints of the Keyhole at baseURL, for
// golang.org/x/oauth2.
func Endpoint(baseURL string) oauth2.Endpoint {
	return oauth2.Endpoint{
		AuthURL:       baseURL + "/oauth/authorize",
		TokenURL:      baseURL + "/oauth/token",
		DeviceAuthURL: baseURL + "/oauth/device/code",
	}
}

// OAuth2Config returns a golang.org/x/oauth2 configuration for an OAuth
// client of this Keyhole: the authorization code flow (AuthCodeURL,
// Exchange, with PKCE through oauth2.S256ChallengeOption), the device flow
// (DeviceAuth, DeviceAccessToken) and refreshing token sources. A public
// client, such as CLIClientID, has an empty secret. Pass the context
// OAuth2Context returns to its methods so that they use this Client's
// http.Client.
func (c *Client) OAuth2Config(clientID, clientSecret string, scopes ...string) *oauth2.Config {
	ep := Endpoint(c.URL())
	if clientSecret == "" {
		// A public client authenticates with its id in the body.
		ep.AuthStyle = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{ClientID: clientID, ClientSecret: clientSecret, Endpoint: ep, Scopes: scopes}
}

// OAuth2Context returns ctx carrying this Client's http.Client the way
// golang.org/x/oauth2 looks for it (oauth2.HTTPClient).
func (c *Client) OAuth2Context(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, c.http)
}
