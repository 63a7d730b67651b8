// Package cached puts an in-process cache in front of a store.Store, so
// that the hot path of every authenticated request — the access token with
// its authorization, the account, the client — is answered from memory.
//
// Invalidation is exact. Every change made through the Store drops what it
// affects before the call returns, so in one process a revoke, rotation,
// regeneration, deletion or password change takes effect at once. Changes
// committed by other processes on a shared database (PostgreSQL replicas)
// arrive through Invalidate, from the database's notifications; while the
// notifications cannot be trusted (SetLive, Alive), every read goes to the
// database, so a missed notification can never keep a revoked token alive.
// Expired tokens need no invalidation: the service checks expiry itself.
//
// The Store implements every method of store.Store explicitly, on purpose:
// a method added to the interface does not compile here until someone has
// decided what it invalidates.
package cached

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

// Options tune a Store.
type Options struct {
	// Max is how many values the cache holds at most; 0 means 100,000.
	Max int
	// Off sends every read to the store behind: the cache holds nothing.
	Off bool
	// MaxAge bounds how long any value is kept; 0 means 10 minutes.
	MaxAge time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Shared marks a database that other processes change too: until
	// SetLive says its notifications are flowing, and whenever Alive has
	// not been called for LiveWindow, the cache is not used.
	Shared bool
}

// LiveWindow is how long a shared store's cache is trusted after the
// notification connection last proved alive: the bound on how late another
// replica's revocation can be seen.
const LiveWindow = time.Second

// Stats counts what the cache did.
type Stats struct {
	Hits, Misses, Bypassed, Invalidations atomic.Int64
}

// Store is a store.Store with a cache in front.
type Store struct {
	inner  store.Store
	c      *cache
	shared bool
	off    bool
	now    func() time.Time
	live   atomic.Bool
	alive  atomic.Int64 // UnixNano of the last sign of life of the notifications
	Stats  Stats
}

var _ store.Store = (*Store)(nil)

// New returns inner with a cache in front.
func New(inner store.Store, o Options) *Store {
	if o.Max <= 0 {
		o.Max = 100_000
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 10 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Store{inner: inner, c: newCache(o.Max, o.MaxAge, o.Now), shared: o.Shared, off: o.Off, now: o.Now}
}

// Inner returns the store behind the cache.
func (s *Store) Inner() store.Store { return s.inner }

// Invalidate drops what carries any of tags: a change committed elsewhere
// (tags as the PostgreSQL backend's notifications name them:
// "tok:<token id>", "auth:<authorization id>", "acct:<account id>",
// "client:<client id>").
func (s *Store) Invalidate(tags ...string) {
	s.Stats.Invalidations.Add(1)
	s.c.invalidate(tags...)
}

// SetLive says whether the notifications of a shared store are flowing.
// Becoming live flushes the cache: changes made while they were not may
// have been missed.
func (s *Store) SetLive(live bool) {
	if live {
		s.c.flush()
		s.Alive()
	}
	s.live.Store(live)
}

// Alive records a sign of life of the notification connection (a
// notification, or a ping answered).
func (s *Store) Alive() { s.alive.Store(s.now().UnixNano()) }

// trusted reports whether the cache may answer: never when it is off;
// always for a store no one else changes; for a shared one, only while its
// notifications flow.
func (s *Store) trusted() bool {
	if s.off {
		return false
	}
	if !s.shared {
		return true
	}
	return s.live.Load() && s.now().UnixNano()-s.alive.Load() < int64(LiveWindow)
}

// Len returns how many values the cache holds.
func (s *Store) Len() int { return s.c.len() }

// ---- reads answered from the cache

type tokenEntry struct {
	t keyhole.Token
	a keyhole.Authorization
}

// TokenByHash answers live access tokens from the cache; other kinds (codes
// and refresh tokens, which change when used) always from the database.
func (s *Store) TokenByHash(ctx context.Context, hash string) (keyhole.Token, keyhole.Authorization, error) {
	return s.TokenByHashGuarded(ctx, hash, "", nil)
}

// TokenByHashGuarded answers from the cache, and only when it cannot,
// from the database with g around the read.
func (s *Store) TokenByHashGuarded(ctx context.Context, hash, guardKey string, g store.Guard) (keyhole.Token, keyhole.Authorization, error) {
	if !s.trusted() {
		s.Stats.Bypassed.Add(1)
		return s.inner.TokenByHashGuarded(ctx, hash, guardKey, g)
	}
	key := "token:" + hash
	if v, ok := s.c.get(key); ok {
		s.Stats.Hits.Add(1)
		e := v.(tokenEntry)
		return e.t, e.a, nil
	}
	s.Stats.Misses.Add(1)
	ticket := s.c.begin()
	t, a, err := s.inner.TokenByHashGuarded(ctx, hash, guardKey, g)
	if err == nil && t.Kind == keyhole.AccessToken && t.UsedAt.IsZero() {
		tags := []string{"tok:" + t.ID, "auth:" + a.ID}
		if a.AccountID != "" {
			tags = append(tags, "acct:"+a.AccountID)
		}
		if a.ClientID != "" {
			tags = append(tags, "client:"+a.ClientID)
		}
		if a.SessionID != "" {
			tags = append(tags, "sess:"+a.SessionID)
		}
		s.c.put(ticket, key, tokenEntry{t, a}, tags...)
	}
	return t, a, err
}

// Account answers from the cache.
func (s *Store) Account(ctx context.Context, id string) (keyhole.Account, error) {
	return read(s, "account:", "acct:", id, func() (keyhole.Account, error) { return s.inner.Account(ctx, id) })
}

// Client answers from the cache.
func (s *Store) Client(ctx context.Context, id string) (keyhole.Client, error) {
	return read(s, "client:", "client:", id, func() (keyhole.Client, error) { return s.inner.Client(ctx, id) })
}

// read answers the value of id from the cache, under kind+id, or loads it
// and keeps it there, dropped with the tag tag+id.
func read[T any](s *Store, kind, tag, id string, load func() (T, error)) (T, error) {
	if !s.trusted() {
		s.Stats.Bypassed.Add(1)
		return load()
	}
	key := kind + id
	if v, ok := s.c.get(key); ok {
		s.Stats.Hits.Add(1)
		return v.(T), nil
	}
	s.Stats.Misses.Add(1)
	ticket := s.c.begin()
	v, err := load()
	if err == nil {
		s.c.put(ticket, key, v, tag+id)
	}
	return v, err
}

// ---- changes that drop what they affect (whether they succeed or not:
// a failure may still have changed something, and dropping is harmless)

// Close closes the store behind the cache.
func (s *Store) Close() error {
	s.c.flush()
	return s.inner.Close()
}

func (s *Store) UpdateAccount(ctx context.Context, id string, fn func(*keyhole.Account) error, ev ...keyhole.Event) (keyhole.Account, error) {
	defer s.c.invalidate("acct:" + id)
	return s.inner.UpdateAccount(ctx, id, fn, ev...)
}

func (s *Store) ResetAccount(ctx context.Context, r store.Reset) (int, error) {
	defer s.c.invalidate("acct:" + r.Account.ID)
	return s.inner.ResetAccount(ctx, r)
}

// VerifyEmail may change the account's email and credentials version.
func (s *Store) VerifyEmail(ctx context.Context, hash string, at time.Time, ev ...keyhole.Event) (keyhole.Account, error) {
	a, err := s.inner.VerifyEmail(ctx, hash, at, ev...)
	if err == nil {
		s.c.invalidate("acct:" + a.ID)
	}
	return a, err
}

// EnableMFA and DisableMFA change the account's MFAEnabled.
func (s *Store) EnableMFA(ctx context.Context, accountID string, seed []byte, codes []string, at time.Time, ev ...keyhole.Event) error {
	defer s.c.invalidate("acct:" + accountID)
	return s.inner.EnableMFA(ctx, accountID, seed, codes, at, ev...)
}

func (s *Store) DisableMFA(ctx context.Context, accountID string, at time.Time, ev ...keyhole.Event) error {
	defer s.c.invalidate("acct:" + accountID)
	return s.inner.DisableMFA(ctx, accountID, at, ev...)
}

func (s *Store) UpdateClient(ctx context.Context, id string, fn func(*keyhole.Client) error, ev ...keyhole.Event) (keyhole.Client, error) {
	defer s.c.invalidate("client:" + id)
	return s.inner.UpdateClient(ctx, id, fn, ev...)
}

func (s *Store) DeleteClient(ctx context.Context, id string, ev ...keyhole.Event) error {
	defer s.c.invalidate("client:" + id)
	return s.inner.DeleteClient(ctx, id, ev...)
}

func (s *Store) UpdateAuthorization(ctx context.Context, id string, fn func(*keyhole.Authorization) error) (keyhole.Authorization, error) {
	defer s.c.invalidate("auth:" + id)
	return s.inner.UpdateAuthorization(ctx, id, fn)
}

func (s *Store) DeleteAuthorization(ctx context.Context, id string, ev ...keyhole.Event) error {
	defer s.c.invalidate("auth:" + id)
	return s.inner.DeleteAuthorization(ctx, id, ev...)
}

// TouchAuthorization writes the last use through and stamps it on the
// authorization the cached tokens carry, in place: it invalidates nothing,
// here or (on PostgreSQL) on other replicas, so that a token in use stays
// cached. The stamp only decides when the next touch is due: it is at
// most a minute behind, and the pages that show the last use read it from
// the database.
func (s *Store) TouchAuthorization(ctx context.Context, id string, at time.Time, every time.Duration) error {
	err := s.inner.TouchAuthorization(ctx, id, at, every)
	if err == nil {
		s.c.update("auth:"+id, func(v any) any {
			e, ok := v.(tokenEntry)
			if ok && e.a.LastUsedAt.Before(at) {
				e.a.LastUsedAt = at
			}
			return e
		})
	}
	return err
}

// GrantCode may write the grant's UpdatedAt, which its cached tokens carry.
func (s *Store) GrantCode(ctx context.Context, a keyhole.Authorization, reuse bool, code keyhole.Token, ev ...keyhole.Event) error {
	defer s.c.invalidate("auth:" + a.ID)
	return s.inner.GrantCode(ctx, a, reuse, code, ev...)
}

func (s *Store) ReplaceTokens(ctx context.Context, authorizationID string, tokens []keyhole.Token, ev ...keyhole.Event) error {
	defer s.c.invalidate("auth:" + authorizationID)
	return s.inner.ReplaceTokens(ctx, authorizationID, tokens, ev...)
}

func (s *Store) RotateRefreshToken(ctx context.Context, r store.Rotation) (store.RotationResult, error) {
	var tags []string
	for _, t := range r.Next {
		tags = append(tags, "auth:"+t.AuthorizationID)
	}
	defer s.c.invalidate(tags...)
	return s.inner.RotateRefreshToken(ctx, r)
}

func (s *Store) DeleteToken(ctx context.Context, id string) error {
	defer s.c.invalidate("tok:" + id)
	return s.inner.DeleteToken(ctx, id)
}

// CreateSession also stamps the account's last login.
func (s *Store) CreateSession(ctx context.Context, ss keyhole.Session, version int64, a *keyhole.Authorization, tokens []keyhole.Token, ev ...keyhole.Event) error {
	defer s.c.invalidate("acct:" + ss.AccountID)
	return s.inner.CreateSession(ctx, ss, version, a, tokens, ev...)
}

// DeleteSession also ends the CLI logins made through the session (their
// sessions' ParentID), whose tokens are filed under their own sessions: so
// it drops every cached value of the session's account, which a session
// never changes.
func (s *Store) DeleteSession(ctx context.Context, id string, ev ...keyhole.Event) error {
	tags := []string{"sess:" + id}
	if ss, err := s.inner.Session(ctx, id); err == nil {
		tags = append(tags, "acct:"+ss.AccountID)
	}
	defer s.c.invalidate(tags...)
	return s.inner.DeleteSession(ctx, id, ev...)
}

// RequestEmailChange moves the account's credentials version on.
func (s *Store) RequestEmailChange(ctx context.Context, accountID string, version int64, t *keyhole.MailToken, ev ...keyhole.Event) error {
	defer s.c.invalidate("acct:" + accountID)
	return s.inner.RequestEmailChange(ctx, accountID, version, t, ev...)
}

// DeleteOtherSessions drops everything of the account: which sessions
// (and the tokens made through them) went is not known here.
func (s *Store) DeleteOtherSessions(ctx context.Context, accountID, keep string, ev ...keyhole.Event) (int, error) {
	defer s.c.invalidate("acct:" + accountID)
	return s.inner.DeleteOtherSessions(ctx, accountID, keep, ev...)
}

// ---- everything else goes straight to the store: it neither reads what
// the cache holds on the hot path nor changes it (creations add what is
// not cached yet; expiries are checked by the service).

func (s *Store) Ping(ctx context.Context) error {
	return s.inner.Ping(ctx)
}

func (s *Store) CreateAccount(ctx context.Context, a keyhole.Account, key keyhole.Authorization, tokens []keyhole.Token) error {
	return s.inner.CreateAccount(ctx, a, key, tokens)
}

func (s *Store) AccountByEmail(ctx context.Context, email string) (keyhole.Account, error) {
	return s.inner.AccountByEmail(ctx, email)
}

func (s *Store) CreateClient(ctx context.Context, c keyhole.Client, ev ...keyhole.Event) error {
	return s.inner.CreateClient(ctx, c, ev...)
}

func (s *Store) ListClients(ctx context.Context, accountID string, r store.Range) ([]keyhole.Client, error) {
	return s.inner.ListClients(ctx, accountID, r)
}

func (s *Store) CreateAuthorization(ctx context.Context, a keyhole.Authorization, tokens []keyhole.Token, ev ...keyhole.Event) error {
	return s.inner.CreateAuthorization(ctx, a, tokens, ev...)
}

func (s *Store) Authorization(ctx context.Context, id string) (keyhole.Authorization, error) {
	return s.inner.Authorization(ctx, id)
}

func (s *Store) DefaultAuthorization(ctx context.Context, accountID string) (keyhole.Authorization, error) {
	return s.inner.DefaultAuthorization(ctx, accountID)
}

func (s *Store) Grant(ctx context.Context, accountID, clientID string, scope []string) (keyhole.Authorization, error) {
	return s.inner.Grant(ctx, accountID, clientID, scope)
}

// DeleteUnusedGrants deletes grants that hold no live token: nothing of
// theirs is cached.
func (s *Store) DeleteUnusedGrants(ctx context.Context, before time.Time, limit int) (int64, error) {
	return s.inner.DeleteUnusedGrants(ctx, before, limit)
}

func (s *Store) ListAuthorizations(ctx context.Context, accountID string, r store.Range) ([]keyhole.Authorization, error) {
	return s.inner.ListAuthorizations(ctx, accountID, r)
}

func (s *Store) Tokens(ctx context.Context, authorizationIDs ...string) ([]keyhole.Token, error) {
	return s.inner.Tokens(ctx, authorizationIDs...)
}

func (s *Store) AddTokens(ctx context.Context, a keyhole.Authorization, tokens []keyhole.Token) error {
	return s.inner.AddTokens(ctx, a, tokens)
}

func (s *Store) UseToken(ctx context.Context, hash string, kind keyhole.TokenKind, at time.Time) (keyhole.Token, error) {
	return s.inner.UseToken(ctx, hash, kind, at)
}

func (s *Store) DeleteExpiredTokens(ctx context.Context, before time.Time, limit int) (int64, error) {
	return s.inner.DeleteExpiredTokens(ctx, before, limit)
}

func (s *Store) ClearSuccessors(ctx context.Context, grace time.Duration, limit int) (int64, error) {
	return s.inner.ClearSuccessors(ctx, grace, limit)
}

func (s *Store) Session(ctx context.Context, id string) (keyhole.Session, error) {
	return s.inner.Session(ctx, id)
}

func (s *Store) SessionByHash(ctx context.Context, hash string) (keyhole.Session, error) {
	return s.inner.SessionByHash(ctx, hash)
}

func (s *Store) ListSessions(ctx context.Context, accountID string, r store.Range) ([]keyhole.Session, error) {
	return s.inner.ListSessions(ctx, accountID, r)
}

func (s *Store) DeleteExpiredSessions(ctx context.Context, before time.Time, limit int) (int64, error) {
	return s.inner.DeleteExpiredSessions(ctx, before, limit)
}

// Teams, members, invitations and collaborators are never cached: what a
// request may do on a team or an app is read from the database on every
// request, so that a change is seen at once on every replica.

func (s *Store) CreateTeam(ctx context.Context, t keyhole.Team, admin keyhole.Member, ev ...keyhole.Event) error {
	return s.inner.CreateTeam(ctx, t, admin, ev...)
}

func (s *Store) Team(ctx context.Context, id string) (keyhole.Team, error) {
	return s.inner.Team(ctx, id)
}

func (s *Store) TeamByName(ctx context.Context, name string) (keyhole.Team, error) {
	return s.inner.TeamByName(ctx, name)
}

func (s *Store) ListTeams(ctx context.Context, accountID string) ([]store.TeamRole, error) {
	return s.inner.ListTeams(ctx, accountID)
}

func (s *Store) UpdateTeam(ctx context.Context, id string, fn func(*keyhole.Team) error, ev ...keyhole.Event) (keyhole.Team, error) {
	return s.inner.UpdateTeam(ctx, id, fn, ev...)
}

func (s *Store) DeleteTeam(ctx context.Context, id string, ev ...keyhole.Event) error {
	return s.inner.DeleteTeam(ctx, id, ev...)
}

func (s *Store) Members(ctx context.Context, teamID string) ([]keyhole.Member, error) {
	return s.inner.Members(ctx, teamID)
}

func (s *Store) Member(ctx context.Context, teamID, accountID string) (keyhole.Member, error) {
	return s.inner.Member(ctx, teamID, accountID)
}

func (s *Store) AddMember(ctx context.Context, m keyhole.Member, ev ...keyhole.Event) error {
	return s.inner.AddMember(ctx, m, ev...)
}

func (s *Store) SetMemberRole(ctx context.Context, teamID, accountID string, role keyhole.TeamRole, at time.Time, ev ...keyhole.Event) (keyhole.Member, error) {
	return s.inner.SetMemberRole(ctx, teamID, accountID, role, at, ev...)
}

func (s *Store) RemoveMember(ctx context.Context, teamID, accountID string, ev ...keyhole.Event) (keyhole.Member, error) {
	return s.inner.RemoveMember(ctx, teamID, accountID, ev...)
}

func (s *Store) PutInvitation(ctx context.Context, inv keyhole.Invitation, ev ...keyhole.Event) (keyhole.Invitation, error) {
	return s.inner.PutInvitation(ctx, inv, ev...)
}

func (s *Store) Invitations(ctx context.Context, teamID string) ([]keyhole.Invitation, error) {
	return s.inner.Invitations(ctx, teamID)
}

func (s *Store) InvitationByHash(ctx context.Context, hash string) (keyhole.Invitation, error) {
	return s.inner.InvitationByHash(ctx, hash)
}

func (s *Store) DeleteInvitation(ctx context.Context, teamID, email string, ev ...keyhole.Event) (keyhole.Invitation, error) {
	return s.inner.DeleteInvitation(ctx, teamID, email, ev...)
}

func (s *Store) AcceptInvitation(ctx context.Context, hash string, at time.Time, m keyhole.Member, ev ...keyhole.Event) error {
	return s.inner.AcceptInvitation(ctx, hash, at, m, ev...)
}

func (s *Store) DeleteExpiredInvitations(ctx context.Context, before time.Time, limit int) (int64, error) {
	return s.inner.DeleteExpiredInvitations(ctx, before, limit)
}

func (s *Store) Collaborators(ctx context.Context, appID string) ([]keyhole.Collaborator, error) {
	return s.inner.Collaborators(ctx, appID)
}

func (s *Store) Collaborator(ctx context.Context, appID, accountID string) (keyhole.Collaborator, error) {
	return s.inner.Collaborator(ctx, appID, accountID)
}

func (s *Store) AddCollaborator(ctx context.Context, c keyhole.Collaborator, ev ...keyhole.Event) error {
	return s.inner.AddCollaborator(ctx, c, ev...)
}

func (s *Store) SetPermissions(ctx context.Context, appID, accountID string, ps []keyhole.Permission, at time.Time, ev ...keyhole.Event) (keyhole.Collaborator, error) {
	return s.inner.SetPermissions(ctx, appID, accountID, ps, at, ev...)
}

func (s *Store) RemoveCollaborator(ctx context.Context, appID, accountID string, ev ...keyhole.Event) (keyhole.Collaborator, error) {
	return s.inner.RemoveCollaborator(ctx, appID, accountID, ev...)
}

func (s *Store) CollaboratorApps(ctx context.Context, teamID, accountID string) ([]keyhole.App, error) {
	return s.inner.CollaboratorApps(ctx, teamID, accountID)
}

func (s *Store) CreateApp(ctx context.Context, a keyhole.App) error {
	return s.inner.CreateApp(ctx, a)
}

func (s *Store) App(ctx context.Context, id string) (keyhole.App, error) {
	return s.inner.App(ctx, id)
}

func (s *Store) AppByName(ctx context.Context, name string) (keyhole.App, error) {
	return s.inner.AppByName(ctx, name)
}

func (s *Store) ListPersonalApps(ctx context.Context, accountID string, r store.Range) ([]keyhole.App, error) {
	return s.inner.ListPersonalApps(ctx, accountID, r)
}

func (s *Store) ListApps(ctx context.Context, accountID string, r store.Range) ([]keyhole.App, error) {
	return s.inner.ListApps(ctx, accountID, r)
}

func (s *Store) ListTeamApps(ctx context.Context, teamID string, r store.Range) ([]keyhole.App, error) {
	return s.inner.ListTeamApps(ctx, teamID, r)
}

func (s *Store) UpdateApp(ctx context.Context, id string, fn func(*keyhole.App) error, ev ...keyhole.Event) (keyhole.App, error) {
	return s.inner.UpdateApp(ctx, id, fn, ev...)
}

func (s *Store) DeleteApp(ctx context.Context, id string) error {
	return s.inner.DeleteApp(ctx, id)
}

func (s *Store) ConfigVars(ctx context.Context, appID string) (map[string]string, error) {
	return s.inner.ConfigVars(ctx, appID)
}

func (s *Store) UpdateConfigVars(ctx context.Context, appID string, changes map[string]*string, at time.Time) (map[string]string, error) {
	return s.inner.UpdateConfigVars(ctx, appID, changes, at)
}

func (s *Store) CreateDeviceGrant(ctx context.Context, g keyhole.DeviceGrant) error {
	return s.inner.CreateDeviceGrant(ctx, g)
}

func (s *Store) DeviceGrantByHash(ctx context.Context, hash string) (keyhole.DeviceGrant, error) {
	return s.inner.DeviceGrantByHash(ctx, hash)
}

func (s *Store) DeviceGrantByUserCode(ctx context.Context, code string) (keyhole.DeviceGrant, error) {
	return s.inner.DeviceGrantByUserCode(ctx, code)
}

func (s *Store) UpdateDeviceGrant(ctx context.Context, id string, fn func(*keyhole.DeviceGrant) error, ev ...keyhole.Event) (keyhole.DeviceGrant, error) {
	return s.inner.UpdateDeviceGrant(ctx, id, fn, ev...)
}

func (s *Store) RedeemDeviceGrant(ctx context.Context, id string, sess *keyhole.Session, a keyhole.Authorization, tokens []keyhole.Token) error {
	return s.inner.RedeemDeviceGrant(ctx, id, sess, a, tokens)
}

func (s *Store) DeleteExpiredDeviceGrants(ctx context.Context, before time.Time, limit int) (int64, error) {
	return s.inner.DeleteExpiredDeviceGrants(ctx, before, limit)
}

// The people's side: sessions' stamps, mailed links, recovery codes, used
// steps and the activity log are never cached.

func (s *Store) TouchSession(ctx context.Context, id string, at time.Time, every time.Duration) error {
	return s.inner.TouchSession(ctx, id, at, every)
}

func (s *Store) Reauthenticated(ctx context.Context, id string, at time.Time) error {
	return s.inner.Reauthenticated(ctx, id, at)
}

func (s *Store) CreateMailToken(ctx context.Context, t keyhole.MailToken) error {
	return s.inner.CreateMailToken(ctx, t)
}

func (s *Store) MailToken(ctx context.Context, hash string) (keyhole.MailToken, error) {
	return s.inner.MailToken(ctx, hash)
}

func (s *Store) DeleteExpiredMailTokens(ctx context.Context, before time.Time, limit int) (int64, error) {
	return s.inner.DeleteExpiredMailTokens(ctx, before, limit)
}

func (s *Store) MFASeed(ctx context.Context, accountID string) ([]byte, error) {
	return s.inner.MFASeed(ctx, accountID)
}

func (s *Store) ReplaceRecoveryCodes(ctx context.Context, accountID string, codes []string, at time.Time, ev ...keyhole.Event) error {
	return s.inner.ReplaceRecoveryCodes(ctx, accountID, codes, at, ev...)
}

func (s *Store) UseRecoveryCode(ctx context.Context, accountID, hash string, at time.Time, ev ...keyhole.Event) error {
	return s.inner.UseRecoveryCode(ctx, accountID, hash, at, ev...)
}

func (s *Store) RecoveryCodesLeft(ctx context.Context, accountID string) (int, error) {
	return s.inner.RecoveryCodesLeft(ctx, accountID)
}

func (s *Store) UseOTPStep(ctx context.Context, accountID string, step int64, at time.Time) error {
	return s.inner.UseOTPStep(ctx, accountID, step, at)
}

func (s *Store) SigningKeys(ctx context.Context) ([]keyhole.SigningKey, error) {
	return s.inner.SigningKeys(ctx)
}

func (s *Store) AddSigningKey(ctx context.Context, k keyhole.SigningKey, first bool) error {
	return s.inner.AddSigningKey(ctx, k, first)
}

func (s *Store) DeleteRetiredSigningKeys(ctx context.Context, before time.Time) (int64, error) {
	return s.inner.DeleteRetiredSigningKeys(ctx, before)
}

func (s *Store) Record(ctx context.Context, ev ...keyhole.Event) error {
	return s.inner.Record(ctx, ev...)
}

func (s *Store) Events(ctx context.Context, accountID string, r store.Range) ([]keyhole.Event, error) {
	return s.inner.Events(ctx, accountID, r)
}

func (s *Store) DeleteExpiredEvents(ctx context.Context, before time.Time, limit int) (int64, error) {
	return s.inner.DeleteExpiredEvents(ctx, before, limit)
}
