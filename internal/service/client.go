package service

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"unicode"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
	"github.com/keyhole/keyhole/internal/token"
)

const maxRedirectURILen = 2000

// maxPostLogoutURIs bounds a client's post-logout redirect URIs.
const maxPostLogoutURIs = 10

// ClientInfo is a client with its secret in clear, as the API shows it to
// the client's owner.
type ClientInfo struct {
	keyhole.Client
	Secret token.Secret // "" for a public client
}

// ClientParams is the input to CreateClient and UpdateClient.
type ClientParams struct {
	Name        *string
	RedirectURI *string
	// PostLogoutRedirectURIs, when set, replaces the client's list of
	// where an OpenID Connect logout may send the browser besides its
	// redirect URI; empty clears it.
	PostLogoutRedirectURIs *[]string
	// Public registers a client without a secret, which must use PKCE.
	Public bool
}

// CreateClient registers an OAuth client owned by the actor's account.
func (s *Service) CreateClient(ctx context.Context, actor Actor, p ClientParams) (ClientInfo, error) {
	if err := actor.NeedAccount(); err != nil {
		return ClientInfo{}, err
	}
	var problems []string
	if p.Name == nil {
		problems = append(problems, "name is required.")
	}
	if p.RedirectURI == nil {
		problems = append(problems, "redirect_uri is required.")
	}
	problems = append(problems, p.check()...)
	if len(problems) > 0 {
		return ClientInfo{}, keyhole.Errorf(keyhole.Invalid, "%s", strings.Join(problems, " "))
	}
	now := s.clock()
	c := keyhole.Client{
		ID: newID(), AccountID: actor.AccountID, Name: strings.TrimSpace(*p.Name),
		RedirectURI: *p.RedirectURI, CreatedAt: now, UpdatedAt: now,
	}
	if p.PostLogoutRedirectURIs != nil {
		c.PostLogoutRedirectURIs = uriList(*p.PostLogoutRedirectURIs)
	}
	var sec token.Secret
	if !p.Public {
		sec = s.newClientSecret(&c)
	}
	if err := s.store.CreateClient(ctx, c, s.event(actor.AccountID, keyhole.EventClientCreated, actor.origin(), c.ID, c.Name)); err != nil {
		return ClientInfo{}, storeErr(err, "client")
	}
	s.log.InfoContext(ctx, "client created", "account_id", actor.AccountID, "client_id", c.ID)
	if acct, err := s.store.Account(ctx, actor.AccountID); err == nil {
		s.notify(ctx, acct.Email, "a new OAuth client was registered", actor.origin(),
			"An OAuth client named \""+c.Name+"\" (redirect URI "+c.RedirectURI+") was registered with your Keyhole account.")
	}
	return ClientInfo{Client: c, Secret: sec}, nil
}

func (p ClientParams) check() []string {
	var problems []string
	if p.Name != nil {
		if err := checkText("name", *p.Name, maxNameLen, true); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if p.RedirectURI != nil {
		if err := checkRedirectURI("redirect_uri", *p.RedirectURI); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if p.PostLogoutRedirectURIs != nil {
		problems = append(problems, checkPostLogoutURIs(*p.PostLogoutRedirectURIs)...)
	}
	return problems
}

// checkPostLogoutURIs holds each post-logout redirect URI to the rules of
// a redirect URI, and the list to maxPostLogoutURIs without repeats.
func checkPostLogoutURIs(list []string) []string {
	const field = "post_logout_redirect_uris"
	if len(list) > maxPostLogoutURIs {
		return []string{fmt.Sprintf("%s may list at most %d URIs.", field, maxPostLogoutURIs)}
	}
	var problems []string
	for i, raw := range list {
		if err := checkRedirectURI(field, raw); err != nil {
			problems = append(problems, err.Error())
		} else if slices.Contains(list[:i], raw) {
			problems = append(problems, field+" lists "+raw+" twice.")
		}
	}
	return problems
}

// uriList is a copy of list, nil when empty.
func uriList(list []string) []string {
	if len(list) == 0 {
		return nil
	}
	return slices.Clone(list)
}

// checkRedirectURI accepts as the named field an absolute https URI, or
// http for a loopback host only, without a fragment or user info (RFC 6749
// §3.1.2, RFC 8252 §7.3, RFC 9700 §2.1).
func checkRedirectURI(field, raw string) error {
	if len(raw) > maxRedirectURILen {
		return problem(field + " must be at most 2000 characters.")
	}
	if strings.ContainsFunc(raw, func(r rune) bool { return unicode.IsSpace(r) || unsafeRune(r) }) {
		return problem(field + " must not contain spaces or control characters.")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return problem(field + " must be an absolute https URI.")
	}
	switch {
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return problem(field + " must not contain a fragment.")
	case u.User != nil:
		return problem(field + " must not contain user info.")
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return problem(field + " must use https; http is allowed only for loopback hosts (127.0.0.1, [::1], localhost).")
	default:
		return problem(field + " must be an https URI.")
	}
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *Service) newClientSecret(c *keyhole.Client) token.Secret {
	sec := token.New(token.ClientSecret)
	c.SecretHash = token.Hash(sec.Reveal())
	c.SecretSealed = s.sealer.Seal([]byte(sec.Reveal()), []byte(c.ID))
	return sec
}

func (s *Service) clientInfo(c keyhole.Client) (ClientInfo, error) {
	info := ClientInfo{Client: c}
	if c.Public() {
		return info, nil
	}
	b, err := s.sealer.Open(c.SecretSealed, []byte(c.ID))
	if err != nil {
		return info, &keyhole.Error{Code: keyhole.Internal, Message: "internal error", Err: err}
	}
	info.Secret = token.Secret(b)
	return info, nil
}

// ownClient returns one of the actor's clients; NotFound for another's.
func (s *Service) ownClient(ctx context.Context, actor Actor, id string) (keyhole.Client, error) {
	if err := actor.NeedAccount(); err != nil {
		return keyhole.Client{}, err
	}
	if !validID(id) {
		return keyhole.Client{}, keyhole.NotFoundError("client")
	}
	c, err := s.store.Client(ctx, id)
	if err != nil {
		return keyhole.Client{}, storeErr(err, "client")
	}
	if c.AccountID != actor.AccountID {
		return keyhole.Client{}, keyhole.NotFoundError("client")
	}
	return c, nil
}

// Client returns one of the actor's clients with its secret.
func (s *Service) Client(ctx context.Context, actor Actor, id string) (ClientInfo, error) {
	c, err := s.ownClient(ctx, actor, id)
	if err != nil {
		return ClientInfo{}, err
	}
	return s.clientInfo(c)
}

// Clients lists the actor's clients, one page of r.
func (s *Service) Clients(ctx context.Context, actor Actor, r store.Range) ([]ClientInfo, error) {
	if err := actor.NeedAccount(); err != nil {
		return nil, err
	}
	list, err := s.store.ListClients(ctx, actor.AccountID, r)
	if err != nil {
		return nil, storeErr(err, "client")
	}
	out := make([]ClientInfo, 0, len(list))
	for _, c := range list {
		info, err := s.clientInfo(c)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// UpdateClient changes a client's name, redirect URI or post-logout
// redirect URIs.
func (s *Service) UpdateClient(ctx context.Context, actor Actor, id string, p ClientParams) (ClientInfo, error) {
	old, err := s.ownClient(ctx, actor, id)
	if err != nil {
		return ClientInfo{}, err
	}
	if problems := p.check(); len(problems) > 0 {
		return ClientInfo{}, keyhole.Errorf(keyhole.Invalid, "%s", strings.Join(problems, " "))
	}
	c, err := s.store.UpdateClient(ctx, id, func(c *keyhole.Client) error {
		if p.Name != nil {
			c.Name = strings.TrimSpace(*p.Name)
		}
		if p.RedirectURI != nil {
			c.RedirectURI = *p.RedirectURI
		}
		if p.PostLogoutRedirectURIs != nil {
			c.PostLogoutRedirectURIs = uriList(*p.PostLogoutRedirectURIs)
		}
		c.UpdatedAt = s.clock()
		return nil
	}, s.event(actor.AccountID, keyhole.EventClientUpdated, actor.origin(), id, old.Name))
	if err != nil {
		return ClientInfo{}, storeErr(err, "client")
	}
	return s.clientInfo(c)
}

// DeleteClient deletes a client and revokes every authorization issued to
// it, at once. It returns the client as it was.
func (s *Service) DeleteClient(ctx context.Context, actor Actor, id string) (ClientInfo, error) {
	c, err := s.ownClient(ctx, actor, id)
	if err != nil {
		return ClientInfo{}, err
	}
	info, err := s.clientInfo(c)
	if err != nil {
		return ClientInfo{}, err
	}
	if err := s.store.DeleteClient(ctx, id, s.event(actor.AccountID, keyhole.EventClientDeleted, actor.origin(), id, c.Name)); err != nil {
		return ClientInfo{}, storeErr(err, "client")
	}
	s.rec.Revoked("client_deleted")
	s.log.InfoContext(ctx, "client deleted", "account_id", actor.AccountID, "client_id", id)
	return info, nil
}

// RotateClientSecret gives a confidential client a new secret; the old one
// stops working at once.
func (s *Service) RotateClientSecret(ctx context.Context, actor Actor, id string) (ClientInfo, error) {
	c, err := s.ownClient(ctx, actor, id)
	if err != nil {
		return ClientInfo{}, err
	}
	if c.Public() {
		return ClientInfo{}, keyhole.Errorf(keyhole.Invalid, "This client is public: it has no secret to rotate.")
	}
	var sec token.Secret
	c, err = s.store.UpdateClient(ctx, id, func(c *keyhole.Client) error {
		sec = s.newClientSecret(c)
		c.UpdatedAt = s.clock()
		return nil
	}, s.event(actor.AccountID, keyhole.EventClientRotated, actor.origin(), id, c.Name))
	if err != nil {
		return ClientInfo{}, storeErr(err, "client")
	}
	s.log.InfoContext(ctx, "client secret rotated", "account_id", actor.AccountID, "client_id", id)
	return ClientInfo{Client: c, Secret: sec}, nil
}

// RevealClientSecret returns one of the actor's clients with its secret,
// as the dashboard shows it: it needs the password re-entered in the
// browser session, as RevealAPIKey does, and is recorded.
func (s *Service) RevealClientSecret(ctx context.Context, actor Actor, id, password string) (ClientInfo, error) {
	c, err := s.ownClient(ctx, actor, id)
	if err != nil {
		return ClientInfo{}, err
	}
	if err := s.reauthenticate(ctx, actor, password); err != nil {
		return ClientInfo{}, err
	}
	info, err := s.clientInfo(c)
	if err != nil {
		return ClientInfo{}, err
	}
	if !c.Public() {
		s.record(ctx, s.event(actor.AccountID, keyhole.EventClientSecretShown, actor.origin(), c.ID, c.Name))
	}
	return info, nil
}

var errClient = keyhole.Errorf(keyhole.InvalidClient, "Client authentication failed.")

// ClientAuth is how a client authenticates a request: its id, its secret
// ("" for a public client) and the address the request came from.
type ClientAuth struct {
	ID, Secret, IP string
}

// AuthenticateClient checks a client's credentials: a confidential client
// must present its current secret; a public client presents none. Checking
// a secret first reserves an attempt of the client's and of the address's
// budgets (RateLimited when one is spent); a right secret gives it back.
func (s *Service) AuthenticateClient(ctx context.Context, ca ClientAuth) (keyhole.Client, error) {
	if !validID(ca.ID) {
		return keyhole.Client{}, errClient
	}
	var r reservation
	if ca.Secret != "" {
		var err error
		if r, err = s.throttles.clientSecret.reserve(ctx, ca.ID, ca.IP); err != nil {
			return keyhole.Client{}, err
		}
	}
	c, err := s.store.Client(ctx, ca.ID)
	if err != nil {
		if isNotFound(err) {
			return keyhole.Client{}, errClient
		}
		r.done(true)
		return keyhole.Client{}, storeErr(err, "client")
	}
	ok := ca.Secret != "" && subtle.ConstantTimeCompare([]byte(token.Hash(ca.Secret)), []byte(c.SecretHash)) == 1
	if c.Public() {
		ok = ca.Secret == ""
	}
	r.done(ok)
	if !ok {
		return keyhole.Client{}, errClient
	}
	return c, nil
}
