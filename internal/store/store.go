// Package store defines the storage interface Keyhole's services use. Two
// backends implement it, sqlite and postgres, and both pass the one
// conformance suite in storetest.
//
// Stores hold the SQL and know no rules: ids, hashes, timestamps and
// expiries are chosen by the services and stored as given. Every time is
// returned in UTC, truncated to microseconds.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
)

// Sentinel errors. Backends map driver errors to these by error code, never
// by message text, and wrap them with %w.
var (
	// ErrNotFound means the row does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict means a unique constraint would be violated, or a
	// single-use value was already used.
	ErrConflict = errors.New("store: conflict")
	// ErrStale means a precondition the caller read earlier no longer
	// holds: the account's credentials changed since they were checked,
	// or the grant GrantCode was given is no longer the account's.
	ErrStale = errors.New("store: stale")
	// ErrLastAdmin means the change would leave a team without an admin:
	// every team keeps at least one, which the store checks in the same
	// transaction as the change, so that two admins demoting or removing
	// each other at the same moment cannot both succeed.
	ErrLastAdmin = errors.New("store: a team's last admin")
	// ErrInUse means a row cannot be deleted while others refer to it:
	// a team that still owns apps.
	ErrInUse = errors.New("store: in use")
)

// TeamRole is a team with the role an account holds in it, as
// ListTeams returns them.
type TeamRole struct {
	Team keyhole.Team
	Role keyhole.TeamRole
}

// Guard watches a store's reads of the database for the caller (a
// service's budget of lookups), keyed by what the caller passed. Before
// is called before the read, which is not made when Before fails; After
// once the read is done, with its error (nil: found).
type Guard interface {
	Before(ctx context.Context, key string) error
	After(ctx context.Context, key string, err error)
}

// Outcome is what RotateRefreshToken did with a refresh token.
type Outcome int

// Rotation outcomes.
const (
	// Rotated: this call was the token's first use; the successor pair
	// was written and every other live token of the authorization deleted.
	Rotated Outcome = iota + 1
	// Repeated: the token was used before, within the grace; nothing was
	// written, and Successor holds what the first use stored.
	Repeated
	// Reused: the token was used before, longer ago than the grace.
	// Nothing was written; the caller decides what that means.
	Reused
)

// Rotation asks RotateRefreshToken to rotate one refresh token.
type Rotation struct {
	// Hash is the presented refresh token's hash.
	Hash string
	// Grace is how long after its first use the token may be presented
	// again and answered with the same successor; 0 allows no repeat.
	Grace time.Duration
	// Retain is how long the used token is kept afterwards, so that a
	// later reuse is recognised; it then expires and is swept.
	Retain time.Duration
	// Keep is how many used refresh tokens the authorization keeps at most:
	// the last used (the last made, among those used within one tick of the
	// database's clock); older ones are deleted with the rotation.
	Keep int
	// Next are the successor tokens of the authorization.
	Next []keyhole.Token
	// Successor is an opaque (sealed) copy of the successor pair, stored
	// on the used token for the grace and handed to repeated calls.
	Successor []byte
}

// RotationResult is the answer of RotateRefreshToken.
type RotationResult struct {
	Outcome Outcome
	// Successor is what the token's first use stored, for Repeated.
	Successor []byte
}

// Range selects one page of a list, ordered by Field.
type Range struct {
	// Field orders the list: "id" for every resource, "name" for apps.
	// "" means "id".
	Field string
	// Start is the value of Field to start from; "" starts at the first row.
	Start string
	// Exclusive leaves out the row whose Field equals Start.
	Exclusive bool
	// Max is the most rows to return; 0 means no limit.
	Max int
	// Desc orders descending.
	Desc bool
}

// Reset is a password change (or a reset by a mailed link), as
// ResetAccount writes it.
type Reset struct {
	// Account is the account as it is to be written: its Email, Name,
	// PasswordHash, EmailVerified, CredentialsVersion and UpdatedAt.
	Account keyhole.Account
	// Version is the credentials version the change was checked against.
	Version int64
	// Keep is the authorization that stays ("" keeps none), and
	// KeepSession the session that stays ("" keeps none but Keep's).
	Keep, KeepSession string
	// Key, when its ID is not "", is the account's new API key, inserted
	// with Tokens.
	Key    keyhole.Authorization
	Tokens []keyhole.Token
	// MailToken, when not "", is the hash of the password-reset link the
	// change is made with: it must be the account's, made at Version,
	// unused and unexpired at Account.UpdatedAt, and is used up with the
	// change.
	MailToken string
	// Events are recorded with the change.
	Events []keyhole.Event
}

// Store is Keyhole's storage. Every method takes the request's context first.
// Methods that change several rows do so in one transaction: either all of the
// change is written or none of it. Methods that take events (ev) insert
// them in that same transaction, so that the activity log records every
// change and nothing that did not happen; ErrConflict if an event's id
// exists.
type Store interface {
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	// Close releases the database.
	Close() error

	// CreateAccount inserts a together with its API key: the authorization
	// key (Default set) and its tokens, atomically. ErrConflict if the id
	// exists or another account has the same email, compared
	// case-insensitively; then nothing is written.
	CreateAccount(ctx context.Context, a keyhole.Account, key keyhole.Authorization, tokens []keyhole.Token) error
	// Account returns the account with the id. ErrNotFound.
	Account(ctx context.Context, id string) (keyhole.Account, error)
	// AccountByEmail returns the account whose email equals email,
	// case-insensitively. ErrNotFound.
	AccountByEmail(ctx context.Context, email string) (keyhole.Account, error)
	// UpdateAccount reads the account, calls fn on it and writes the result,
	// in one transaction. If fn returns an error nothing is written and that
	// error is returned as is. ErrNotFound; ErrConflict if the new email is
	// taken. The ID, CreatedAt and MFAEnabled cannot change.
	UpdateAccount(ctx context.Context, id string, fn func(*keyhole.Account) error, ev ...keyhole.Event) (keyhole.Account, error)

	// ResetAccount is a password change, atomically: if the stored
	// CredentialsVersion still equals r.Version (ErrStale otherwise), and
	// r.MailToken, when set, is a live reset link of the account
	// (ErrNotFound otherwise), it uses the link, writes r.Account's Email,
	// Name, PasswordHash, EmailVerified, CredentialsVersion and UpdatedAt,
	// deletes every authorization of the account except r.Keep with their
	// tokens and every session except r.KeepSession and r.Keep's, inserts
	// r.Key with its tokens when r.Key.ID is not "", and records r.Events.
	// It returns how many authorizations it deleted. ErrNotFound if no such
	// account.
	ResetAccount(ctx context.Context, r Reset) (int, error)

	// CreateMailToken inserts t, bound to t.Version. ErrConflict if the
	// hash exists; ErrNotFound if the account does not.
	CreateMailToken(ctx context.Context, t keyhole.MailToken) error
	// RequestEmailChange is a request to change the account's email,
	// atomically: if the account's CredentialsVersion still equals
	// version (ErrStale otherwise), it moves it on to version+1, which
	// ends every link mailed before, inserts t when it is not nil (the
	// link of the change, whose Version must be version+1), and records
	// ev. ErrNotFound if no such account; ErrConflict if t's hash exists.
	RequestEmailChange(ctx context.Context, accountID string, version int64, t *keyhole.MailToken, ev ...keyhole.Event) error
	// MailToken returns the link with the hash, used or not. ErrNotFound.
	MailToken(ctx context.Context, hash string) (keyhole.MailToken, error)
	// VerifyEmail uses the MailVerify link with the hash if it is unused,
	// unexpired at `at` and made at its account's current
	// CredentialsVersion, and sets its account's Email to the link's
	// and EmailVerified, atomically; when the email changes it also moves
	// the CredentialsVersion on and sets UpdatedAt to at. It returns the
	// account as written. Of concurrent callers exactly one succeeds.
	// ErrNotFound if no such live link; ErrConflict (nothing written) if
	// another account has the email now.
	VerifyEmail(ctx context.Context, hash string, at time.Time, ev ...keyhole.Event) (keyhole.Account, error)
	// DeleteExpiredMailTokens deletes at most limit links that expire at
	// or before before, and returns how many.
	DeleteExpiredMailTokens(ctx context.Context, before time.Time, limit int) (int64, error)

	// EnableMFA turns two-factor authentication on: it stores the sealed
	// TOTP seed and the recovery codes' hashes, sets MFAEnabled and moves
	// the CredentialsVersion on, atomically. ErrNotFound if no such account; ErrConflict (nothing
	// written) if MFA is already on, so that of concurrent enrolments
	// exactly one wins.
	EnableMFA(ctx context.Context, accountID string, seed []byte, codes []string, at time.Time, ev ...keyhole.Event) error
	// DisableMFA turns it off: it clears MFAEnabled and the seed, moves
	// the CredentialsVersion on and deletes the recovery codes and the
	// last used step, atomically.
	// ErrNotFound if no such account; ErrConflict if MFA is off.
	DisableMFA(ctx context.Context, accountID string, at time.Time, ev ...keyhole.Event) error
	// MFASeed returns the account's sealed TOTP seed. ErrNotFound if no
	// such account or MFA is off.
	MFASeed(ctx context.Context, accountID string) ([]byte, error)
	// ReplaceRecoveryCodes replaces every recovery code of the account
	// with codes (hashes), atomically. ErrConflict if MFA is off;
	// ErrNotFound if no such account.
	ReplaceRecoveryCodes(ctx context.Context, accountID string, codes []string, at time.Time, ev ...keyhole.Event) error
	// UseRecoveryCode marks the account's unused recovery code with the
	// hash used at `at`. Of concurrent callers exactly one succeeds.
	// ErrNotFound if there is no such unused code.
	UseRecoveryCode(ctx context.Context, accountID, hash string, at time.Time, ev ...keyhole.Event) error
	// RecoveryCodesLeft counts the account's unused recovery codes.
	RecoveryCodesLeft(ctx context.Context, accountID string) (int, error)
	// UseOTPStep records that the account accepted a one-time code of the
	// TOTP time step at `at`, if step is after every step it accepted
	// before, in one statement. ErrConflict if it is not (the same step,
	// or an earlier one): of concurrent callers (on any replica) exactly
	// one succeeds. ErrNotFound if no such account.
	UseOTPStep(ctx context.Context, accountID string, step int64, at time.Time) error

	// Record inserts events that go with no other change, such as a
	// failed sign-in. ErrConflict if an id exists; ErrNotFound if an
	// account does not.
	Record(ctx context.Context, ev ...keyhole.Event) error
	// Events returns the account's events in r's order (Field "id"; ids
	// sort as the events happened).
	Events(ctx context.Context, accountID string, r Range) ([]keyhole.Event, error)
	// DeleteExpiredEvents deletes at most limit events created at or
	// before before, and returns how many.
	DeleteExpiredEvents(ctx context.Context, before time.Time, limit int) (int64, error)

	// CreateClient inserts c. ErrConflict if the id exists.
	CreateClient(ctx context.Context, c keyhole.Client, ev ...keyhole.Event) error
	// Client returns the client with the id. ErrNotFound.
	Client(ctx context.Context, id string) (keyhole.Client, error)
	// ListClients returns the clients registered by the account, in r's order.
	ListClients(ctx context.Context, accountID string, r Range) ([]keyhole.Client, error)
	// UpdateClient is a read-modify-write of one client, as UpdateAccount.
	UpdateClient(ctx context.Context, id string, fn func(*keyhole.Client) error, ev ...keyhole.Event) (keyhole.Client, error)
	// DeleteClient deletes the client together with every authorization
	// issued to it and their tokens, atomically. ErrNotFound.
	DeleteClient(ctx context.Context, id string, ev ...keyhole.Event) error

	// CreateAuthorization inserts a and its tokens atomically. ErrConflict if
	// an id or token hash exists, or if a.Default is set and the account
	// already has a default authorization.
	CreateAuthorization(ctx context.Context, a keyhole.Authorization, tokens []keyhole.Token, ev ...keyhole.Event) error
	// Authorization returns the authorization with the id. ErrNotFound.
	Authorization(ctx context.Context, id string) (keyhole.Authorization, error)
	// DefaultAuthorization returns the account's API key authorization (the
	// one with Default set). ErrNotFound.
	DefaultAuthorization(ctx context.Context, accountID string) (keyhole.Authorization, error)
	// ListAuthorizations returns the account's authorizations, in r's order.
	ListAuthorizations(ctx context.Context, accountID string, r Range) ([]keyhole.Authorization, error)
	// UpdateAuthorization is a read-modify-write of one authorization, as
	// UpdateAccount. Only Description, Scope and UpdatedAt are written.
	UpdateAuthorization(ctx context.Context, id string, fn func(*keyhole.Authorization) error) (keyhole.Authorization, error)
	// DeleteAuthorization deletes the authorization and all its tokens
	// (access, refresh and grant code) atomically. ErrNotFound.
	DeleteAuthorization(ctx context.Context, id string, ev ...keyhole.Event) error
	// TouchAuthorization sets the authorization's LastUsedAt to at unless
	// it is already within every of at: one write a minute, not one a
	// request. No error when there is nothing to change. LastUsedAt is
	// no part of what caches invalidate: the write announces no change.
	TouchAuthorization(ctx context.Context, id string, at time.Time, every time.Duration) error

	// Grant returns the account's grant of exactly scope (as stored, in
	// its order) to the client: its authorization of the client made by
	// consent, with no session and not the API key; of several, the one
	// updated last. One indexed lookup. ErrNotFound.
	Grant(ctx context.Context, accountID, clientID string, scope []string) (keyhole.Authorization, error)
	// GrantCode gives the account's grant of a.Scope to a.ClientID (as
	// Grant finds it) the grant code code, in one transaction, provided
	// the grant is still what the caller found: with reuse, a.ID must be
	// that grant, and code is inserted into it and its UpdatedAt set to
	// a.UpdatedAt (its other tokens stay); without, the account must have
	// no such grant, and a is inserted with code. Otherwise nothing is
	// written and the answer is ErrStale: another caller made the grant,
	// or it was deleted, meanwhile. Concurrent calls for one account run
	// one after the other, so that of concurrent first grants exactly one
	// is inserted. ErrNotFound if the account or the client does not
	// exist; ErrConflict if an id or hash exists.
	GrantCode(ctx context.Context, a keyhole.Authorization, reuse bool, code keyhole.Token, ev ...keyhole.Event) error
	// DeleteUnusedGrants deletes at most limit grants (authorizations of
	// an account to a client, made by consent: no session, not the API
	// key) that hold no token but grant codes never used that expired at
	// or before before, with those codes, and returns how many: grants
	// whose codes expired unexchanged, and grants whose every token has
	// expired and been swept. A grant given a code meanwhile, by a
	// GrantCode that committed first, stays.
	DeleteUnusedGrants(ctx context.Context, before time.Time, limit int) (int64, error)

	// Tokens returns every token of the authorizations, used or not, oldest
	// first, in one query.
	Tokens(ctx context.Context, authorizationIDs ...string) ([]keyhole.Token, error)
	// ReplaceTokens atomically deletes the authorization's unused tokens
	// (UsedAt zero) of each kind present in tokens and inserts tokens. Used
	// tokens stay, so that the reuse of a rotated refresh token or a redeemed
	// code can be recognised, until the authorization is deleted or they
	// expire. Concurrent replacements of one authorization's tokens run one
	// after the other. ErrNotFound if the authorization does not exist;
	// ErrConflict if a hash exists.
	ReplaceTokens(ctx context.Context, authorizationID string, tokens []keyhole.Token, ev ...keyhole.Event) error
	// AddTokens inserts tokens into the authorization a, creating a first
	// if no authorization has its id; tokens already there stay. It is how
	// a client acting as itself gets one more access token. ErrNotFound if
	// a's client does not exist; ErrConflict if a hash exists. Calls made
	// at once may be written in one transaction, which need not be durable
	// the moment it returns: a token a crash forgets is refused, and its
	// client asks again.
	AddTokens(ctx context.Context, a keyhole.Authorization, tokens []keyhole.Token) error
	// TokenByHash returns the token with the hash and its authorization, in
	// one query: this is the hot path of every authenticated request.
	// ErrNotFound.
	TokenByHash(ctx context.Context, hash string) (keyhole.Token, keyhole.Authorization, error)
	// TokenByHashGuarded is TokenByHash with g (nil: none) around its read
	// of the database, keyed key; a store that answers from memory (the
	// cache) calls neither of g's methods. The error of g.Before is
	// returned as it is, with nothing read.
	TokenByHashGuarded(ctx context.Context, hash, key string, g Guard) (keyhole.Token, keyhole.Authorization, error)
	// UseToken marks the token with the hash and kind as used at `at`, if it
	// was not used before, and returns it. Of several concurrent callers
	// exactly one succeeds; the others get ErrConflict together with the
	// token as it is stored. ErrNotFound if no such token.
	UseToken(ctx context.Context, hash string, kind keyhole.TokenKind, at time.Time) (keyhole.Token, error)
	// RotateRefreshToken uses the refresh token r.Hash, in one
	// transaction, and decides by the database's own clock, in one
	// conditional statement, whether this is its first use (Rotated: the
	// token is marked used, expires r.Retain later, keeps r.Successor; the
	// authorization's other unused access and refresh tokens are deleted,
	// r.Next inserted, and its used refresh tokens beyond the newest r.Keep
	// deleted), a repeat within r.Grace of the first use (Repeated), or a
	// reuse after it (Reused). Of concurrent callers exactly one rotates;
	// the others wait for it and repeat. ErrNotFound if no refresh token has
	// the hash.
	RotateRefreshToken(ctx context.Context, r Rotation) (RotationResult, error)
	// DeleteToken deletes one token. ErrNotFound.
	DeleteToken(ctx context.Context, id string) error
	// DeleteExpiredTokens deletes at most limit tokens whose ExpiresAt is
	// set and not after before, and returns how many.
	DeleteExpiredTokens(ctx context.Context, before time.Time, limit int) (int64, error)
	// ClearSuccessors forgets, on at most limit refresh tokens used at
	// least grace ago by the database's clock (the one RotateRefreshToken
	// decides by), the successor stored for repeats, and returns how many.
	ClearSuccessors(ctx context.Context, grace time.Duration, limit int) (int64, error)

	// CreateSession is a sign-in, atomically: if the account's
	// CredentialsVersion still equals version (ErrStale otherwise, when the
	// password or email changed after they were checked), it inserts s,
	// sets the account's LastLogin to s.CreatedAt and, when a is not nil,
	// inserts the authorization a made through it (a.SessionID == s.ID) with
	// its tokens: a CLI login. ErrNotFound if no such account; ErrConflict
	// if an id or hash exists. On any error nothing is written.
	CreateSession(ctx context.Context, s keyhole.Session, version int64, a *keyhole.Authorization, tokens []keyhole.Token, ev ...keyhole.Event) error
	// Session returns the session with the id. ErrNotFound.
	Session(ctx context.Context, id string) (keyhole.Session, error)
	// SessionByHash returns the session whose Hash equals hash. ErrNotFound.
	SessionByHash(ctx context.Context, hash string) (keyhole.Session, error)
	// ListSessions returns the account's sessions, in r's order.
	ListSessions(ctx context.Context, accountID string, r Range) ([]keyhole.Session, error)
	// DeleteSession deletes the session together with the sessions made
	// through it (ParentID), every authorization made through any of them
	// and their tokens, atomically. ErrNotFound.
	DeleteSession(ctx context.Context, id string, ev ...keyhole.Event) error
	// DeleteOtherSessions deletes every session of the account but keep,
	// with what was made through them, and moves the account's
	// CredentialsVersion on (ending pending sign-ins and mailed links),
	// atomically, and returns how many sessions it deleted.
	DeleteOtherSessions(ctx context.Context, accountID, keep string, ev ...keyhole.Event) (int, error)
	// TouchSession sets the session's LastSeenAt to at unless it is
	// already within every of at. No error when there is nothing to change.
	TouchSession(ctx context.Context, id string, at time.Time, every time.Duration) error
	// Reauthenticated sets the session's ReauthAt to at. ErrNotFound.
	Reauthenticated(ctx context.Context, id string, at time.Time) error
	// DeleteExpiredSessions deletes at most limit sessions whose ExpiresAt
	// is not after before, with what was made through them, and returns how
	// many.
	DeleteExpiredSessions(ctx context.Context, before time.Time, limit int) (int64, error)

	// CreateTeam inserts t with its first member, admin (an admin),
	// atomically. ErrConflict if the id or the name exists (names are
	// compared as given: the service allows lowercase only); ErrNotFound
	// if admin's account does not exist.
	CreateTeam(ctx context.Context, t keyhole.Team, admin keyhole.Member, ev ...keyhole.Event) error
	// Team returns the team with the id. ErrNotFound.
	Team(ctx context.Context, id string) (keyhole.Team, error)
	// TeamByName returns the team with the name. ErrNotFound.
	TeamByName(ctx context.Context, name string) (keyhole.Team, error)
	// ListTeams returns the teams the account is a member of, with its
	// role in each, ordered by name.
	ListTeams(ctx context.Context, accountID string) ([]TeamRole, error)
	// UpdateTeam is a read-modify-write of one team, as UpdateAccount:
	// Name, DefaultRole and UpdatedAt are written. ErrConflict if the new
	// name is taken.
	UpdateTeam(ctx context.Context, id string, fn func(*keyhole.Team) error, ev ...keyhole.Event) (keyhole.Team, error)
	// DeleteTeam deletes the team with its memberships and invitations,
	// atomically, unless it owns an app: ErrInUse then, and nothing is
	// deleted (also when an app is created in it at the same moment).
	// ErrNotFound.
	DeleteTeam(ctx context.Context, id string, ev ...keyhole.Event) error

	// Members returns the team's members with their accounts' email,
	// name and MFAEnabled, ordered by email.
	Members(ctx context.Context, teamID string) ([]keyhole.Member, error)
	// Member returns the account's membership of the team, with its
	// account's fields. ErrNotFound.
	Member(ctx context.Context, teamID, accountID string) (keyhole.Member, error)
	// AddMember inserts m. ErrConflict if its account is a member of the
	// team already; ErrNotFound if the team or the account does not exist.
	AddMember(ctx context.Context, m keyhole.Member, ev ...keyhole.Event) error
	// SetMemberRole sets the role of the account's membership and its
	// UpdatedAt to at, and returns it; an admin made anything else loses
	// the team's invitations they sent. ErrLastAdmin (nothing written) if
	// it is the team's only admin and role is not admin. Concurrent
	// changes of one team's members run one after the other. ErrNotFound.
	SetMemberRole(ctx context.Context, teamID, accountID string, role keyhole.TeamRole, at time.Time, ev ...keyhole.Event) (keyhole.Member, error)
	// RemoveMember deletes the account's membership together with its
	// collaborator grants on the team's apps and the team's invitations it
	// sent, atomically, and returns the
	// membership as it was. ErrLastAdmin (nothing written) if it is the
	// team's only admin; concurrent changes of one team's members run one
	// after the other. ErrNotFound.
	RemoveMember(ctx context.Context, teamID, accountID string, ev ...keyhole.Event) (keyhole.Member, error)

	// PutInvitation inserts inv, or replaces the team's invitation of the
	// same email (compared case-insensitively): its role, inviter, hash,
	// UpdatedAt and ExpiresAt, keeping its id and CreatedAt, so that the
	// link mailed before stops working. It returns the invitation as
	// stored. ErrNotFound if the team does not exist; ErrConflict if the
	// hash exists.
	PutInvitation(ctx context.Context, inv keyhole.Invitation, ev ...keyhole.Event) (keyhole.Invitation, error)
	// Invitations returns the team's invitations, expired ones too,
	// ordered by email.
	Invitations(ctx context.Context, teamID string) ([]keyhole.Invitation, error)
	// InvitationByHash returns the invitation with the hash. ErrNotFound.
	InvitationByHash(ctx context.Context, hash string) (keyhole.Invitation, error)
	// DeleteInvitation deletes the team's invitation of the email
	// (case-insensitively) and returns it. ErrNotFound.
	DeleteInvitation(ctx context.Context, teamID, email string, ev ...keyhole.Event) (keyhole.Invitation, error)
	// AcceptInvitation uses the invitation with the hash, if it expires
	// after at, atomically: it deletes it and inserts m (whose TeamID must
	// be the invitation's). Of concurrent callers exactly one succeeds.
	// ErrNotFound if there is no such live invitation; ErrConflict (and
	// nothing written) if m's account is a member already.
	AcceptInvitation(ctx context.Context, hash string, at time.Time, m keyhole.Member, ev ...keyhole.Event) error
	// DeleteExpiredInvitations deletes at most limit invitations that
	// expire at or before before, and returns how many.
	DeleteExpiredInvitations(ctx context.Context, before time.Time, limit int) (int64, error)

	// CreateApp inserts a. ErrConflict if the id or the name exists;
	// ErrNotFound if its owner (account or team) does not.
	CreateApp(ctx context.Context, a keyhole.App) error
	// App returns the app with the id. ErrNotFound.
	App(ctx context.Context, id string) (keyhole.App, error)
	// AppByName returns the app with the name. ErrNotFound.
	AppByName(ctx context.Context, name string) (keyhole.App, error)
	// ListApps returns the apps the account owns, collaborates on, or
	// that belong to a team it is a member of, in r's order (Field "id"
	// or "name").
	ListApps(ctx context.Context, accountID string, r Range) ([]keyhole.App, error)
	// ListPersonalApps returns the personal apps (of no team) the account
	// owns or collaborates on, in r's order.
	ListPersonalApps(ctx context.Context, accountID string, r Range) ([]keyhole.App, error)
	// ListTeamApps returns the team's apps, in r's order.
	ListTeamApps(ctx context.Context, teamID string, r Range) ([]keyhole.App, error)
	// UpdateApp is a read-modify-write of one app, as UpdateAccount:
	// Name, Region, Stack, Maintenance, Locked, the owner (AccountID or
	// TeamID) and UpdatedAt are written. When the owner changes, ev is
	// recorded with it and the new owning account's own collaborator
	// grant, if any, is deleted; when the app moves to an account, every
	// collaborator's grant loses manage (and keeps the rest). ErrNotFound
	// if the new owner does not exist.
	// ErrConflict if the new name is taken.
	UpdateApp(ctx context.Context, id string, fn func(*keyhole.App) error, ev ...keyhole.Event) (keyhole.App, error)
	// DeleteApp deletes the app and its config vars atomically. ErrNotFound.
	DeleteApp(ctx context.Context, id string) error
	// Collaborators returns the app's collaborators with their accounts'
	// email and name, ordered by email.
	Collaborators(ctx context.Context, appID string) ([]keyhole.Collaborator, error)
	// Collaborator returns the account's grant on the app. ErrNotFound.
	Collaborator(ctx context.Context, appID, accountID string) (keyhole.Collaborator, error)
	// AddCollaborator inserts c. ErrConflict if the account has a grant
	// on the app already; ErrNotFound if the app or the account does not
	// exist.
	AddCollaborator(ctx context.Context, c keyhole.Collaborator, ev ...keyhole.Event) error
	// SetPermissions sets the permissions of the account's grant on the
	// app and its UpdatedAt to at, and returns it. ErrNotFound.
	SetPermissions(ctx context.Context, appID, accountID string, ps []keyhole.Permission, at time.Time, ev ...keyhole.Event) (keyhole.Collaborator, error)
	// RemoveCollaborator deletes the account's grant on the app and
	// returns it as it was. ErrNotFound.
	RemoveCollaborator(ctx context.Context, appID, accountID string, ev ...keyhole.Event) (keyhole.Collaborator, error)
	// CollaboratorApps returns the team's apps on which the account holds
	// a grant, ordered by name.
	CollaboratorApps(ctx context.Context, teamID, accountID string) ([]keyhole.App, error)

	// ConfigVars returns the app's config vars. ErrNotFound if no such app.
	ConfigVars(ctx context.Context, appID string) (map[string]string, error)
	// UpdateConfigVars applies changes atomically (a nil value deletes the
	// key), sets the app's UpdatedAt to at, and returns the resulting map.
	// ErrNotFound if no such app.
	UpdateConfigVars(ctx context.Context, appID string, changes map[string]*string, at time.Time) (map[string]string, error)

	// SigningKeys returns every signing key, oldest first.
	SigningKeys(ctx context.Context) ([]keyhole.SigningKey, error)
	// AddSigningKey inserts k and sets the RetiresAt of every key not
	// retired yet to k.ActivatesAt, atomically: from then on k signs. With
	// first set it inserts k only when there is no key at all, so that of
	// replicas starting at once exactly one makes the first key; the
	// others get ErrConflict and nothing is written. ErrConflict too if
	// k's id exists.
	AddSigningKey(ctx context.Context, k keyhole.SigningKey, first bool) error
	// DeleteRetiredSigningKeys deletes the keys retired at or before
	// before, and returns how many.
	DeleteRetiredSigningKeys(ctx context.Context, before time.Time) (int64, error)

	// CreateDeviceGrant inserts g. ErrConflict if the id, device hash or
	// user code exists.
	CreateDeviceGrant(ctx context.Context, g keyhole.DeviceGrant) error
	// DeviceGrantByHash returns the grant whose DeviceHash is hash. ErrNotFound.
	DeviceGrantByHash(ctx context.Context, hash string) (keyhole.DeviceGrant, error)
	// DeviceGrantByUserCode returns the grant whose UserCode is code. ErrNotFound.
	DeviceGrantByUserCode(ctx context.Context, code string) (keyhole.DeviceGrant, error)
	// UpdateDeviceGrant is a read-modify-write of one grant, as UpdateAccount;
	// every field but ID, ClientID, DeviceHash, UserCode and CreatedAt is written.
	UpdateDeviceGrant(ctx context.Context, id string, fn func(*keyhole.DeviceGrant) error, ev ...keyhole.Event) (keyhole.DeviceGrant, error)
	// RedeemDeviceGrant deletes the grant and inserts, atomically, the
	// session s when it is not nil (a CLI login made through the browser
	// session s.ParentID) and the authorization a with its tokens. Of
	// concurrent callers exactly one succeeds; the others get ErrNotFound
	// (the grant is gone). ErrNotFound too when s.ParentID no longer
	// exists; then nothing is written.
	RedeemDeviceGrant(ctx context.Context, id string, s *keyhole.Session, a keyhole.Authorization, tokens []keyhole.Token) error
	// DeleteExpiredDeviceGrants deletes at most limit grants whose
	// ExpiresAt is not after before, and returns how many.
	DeleteExpiredDeviceGrants(ctx context.Context, before time.Time, limit int) (int64, error)
}
