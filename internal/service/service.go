// Package service holds Keyhole's rules: who may do what, how tokens are
// issued, expire, rotate and are revoked. It knows nothing of HTTP; the
// surfaces in api, oauth and web decode a request, call one method here and
// encode the answer.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/mail"
	"github.com/keyhole/keyhole/internal/ratelimit"
	"github.com/keyhole/keyhole/internal/secret"
	"github.com/keyhole/keyhole/internal/store"
)

// Deps are the Service's dependencies.
type Deps struct {
	Store  store.Store
	Sealer *secret.Sealer
	Log    *slog.Logger
	// Mail delivers verification links, reset links and security
	// notices; the service sends through a queue in front of it.
	Mail mail.Sender
	// Issuer is the public base URL the links in mails point to.
	Issuer string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Password is the argon2id cost; the zero value means secret.OWASP.
	Password secret.PasswordParams
	// PasswordSlots is how many password hashes may run at once; 0 means
	// DefaultPasswordSlots.
	PasswordSlots int
	// Lifetimes; zero values take the defaults in the Default… constants.
	AccessTTL time.Duration
	// ClientTokenTTL is the life of a client-credentials access token.
	ClientTokenTTL time.Duration
	// RefreshGrace is how long a rotated refresh token may be presented
	// again and answered with the same successor pair, for benign
	// concurrent retries; negative disables the grace.
	RefreshGrace time.Duration
	// FailedLogins is how many wrong passwords an email may see per
	// FailedLoginWindow before sign-in is refused for a while; 0 means
	// DefaultFailedLogins.
	FailedLogins int
	// Limits keeps the throttles' budgets; nil means in process.
	Limits ratelimit.Limits
	// RequestLimits keeps the budget spent on every request's path
	// (unknown tokens per address); nil means Limits.
	RequestLimits ratelimit.Limits
	// DeviceInterval is how many seconds a device must wait between polls
	// (RFC 8628 §3.2); 0 means DeviceInterval.
	DeviceInterval int
	// Recorder hears of tokens issued and revoked, failed sign-ins and
	// throttled checks, for metrics; nil records nothing.
	Recorder Recorder
}

// Recorder hears of what the service does, for metrics. Its methods must
// be cheap and safe for concurrent use.
type Recorder interface {
	// Issued is called for each access token issued, by grant.
	Issued(grant string)
	// Revoked is called for each revocation, by cause.
	Revoked(cause string)
	// SignInFailed is called for each wrong email or password.
	SignInFailed()
	// Throttled is called for each secret check a throttle refused.
	Throttled(kind string)
}

type noRecorder struct{}

func (noRecorder) Issued(string)    {}
func (noRecorder) Revoked(string)   {}
func (noRecorder) SignInFailed()    {}
func (noRecorder) Throttled(string) {}

// Defaults for Deps.
const (
	DefaultAccessTTL      = 8 * time.Hour
	DefaultClientTokenTTL = time.Hour
	DefaultRefreshGrace   = 10 * time.Second
	// GrantTTL is the life of an authorization code.
	GrantTTL = 10 * time.Minute
	// DefaultFailedLogins wrong passwords per FailedLoginWindow lock an
	// email's sign-in until the window refills (one attempt back every
	// FailedLoginWindow/DefaultFailedLogins).
	DefaultFailedLogins = 10
	FailedLoginWindow   = 15 * time.Minute
	// PublicRefreshIdle is how long a public client's refresh token lives
	// unused; each rotation starts it again.
	PublicRefreshIdle = 30 * 24 * time.Hour
	// ReuseHorizon is how long a rotated refresh token is kept so that its
	// reuse is recognised (and revokes the authorization); KeepRotated is
	// how many of them an authorization keeps at most.
	ReuseHorizon = 30 * 24 * time.Hour
	KeepRotated  = 10
	// PasswordWait is how long a sign-in waits for a password hashing slot
	// before it is answered 503.
	PasswordWait = 3 * time.Second
)

// DefaultPasswordSlots runs at most two password hashes at once (one on a
// single processor). Each takes 19 MiB (secret.OWASP) while it runs, and
// the hasher collects what each leaves behind while the heap is small, so
// two slots keep a burst of sign-ins under 100 MB of resident memory; they
// still check some 50 passwords a second, and replicas add more.
var DefaultPasswordSlots = min(runtime.GOMAXPROCS(0), 2)

// Service implements Keyhole's use cases over a store.
type Service struct {
	store          store.Store
	sealer         *secret.Sealer
	log            *slog.Logger
	now            func() time.Time
	passwords      *secret.Hasher
	accessTTL      time.Duration
	clientTokenTTL time.Duration
	refreshGrace   time.Duration
	throttles      throttles
	// signing is this replica's copy of the ID tokens' signing keys.
	signing signingKeys
	// pendingTries counts the codes tried at each pending sign-in.
	pendingTries   ratelimit.Budget
	rec            Recorder
	deviceInterval int
	mail           *mail.Queue
	issuer         string
	waits          *cliWaits
	// dummyHash is verified against when an email is unknown, so that a
	// login takes as long for a missing account as for a wrong password.
	dummyHash string
}

// New returns a Service.
func New(d Deps) (*Service, error) {
	if d.Store == nil || d.Sealer == nil || d.Mail == nil {
		return nil, errors.New("service: Store, Sealer and Mail are required")
	}
	s := &Service{
		store: d.Store, sealer: d.Sealer, log: d.Log, now: d.Now, issuer: strings.TrimRight(d.Issuer, "/"),
		accessTTL: d.AccessTTL, clientTokenTTL: d.ClientTokenTTL, refreshGrace: d.RefreshGrace,
	}
	if s.accessTTL <= 0 {
		s.accessTTL = DefaultAccessTTL
	}
	if s.clientTokenTTL <= 0 {
		s.clientTokenTTL = DefaultClientTokenTTL
	}
	switch {
	case s.refreshGrace == 0:
		s.refreshGrace = DefaultRefreshGrace
	case s.refreshGrace < 0:
		s.refreshGrace = 0
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if d.Password == (secret.PasswordParams{}) {
		d.Password = secret.OWASP
	}
	if d.PasswordSlots <= 0 {
		d.PasswordSlots = DefaultPasswordSlots
	}
	s.passwords = secret.NewHasher(d.Password, d.PasswordSlots, PasswordWait)
	if d.FailedLogins <= 0 {
		d.FailedLogins = DefaultFailedLogins
	}
	s.deviceInterval = d.DeviceInterval
	if s.deviceInterval <= 0 {
		s.deviceInterval = DeviceInterval
	}
	s.rec = d.Recorder
	if s.rec == nil {
		s.rec = noRecorder{}
	}
	if d.Limits == nil {
		d.Limits = ratelimit.Local{Now: s.now}
	}
	if d.RequestLimits == nil {
		d.RequestLimits = d.Limits
	}
	s.throttles = newThrottles(d.FailedLogins, d.Limits, d.RequestLimits, s.rec)
	s.pendingTries = d.Limits.Budget("pending-sign-in", PendingCodes, pendingTriesPer)
	// Through the hasher, so that its memory is collected, not kept as
	// idle garbage until the first sign-in.
	dummy, err := s.passwords.Hash(context.Background(), "keyhole-dummy-password")
	if err != nil {
		return nil, fmt.Errorf("service: %w", err)
	}
	s.dummyHash = dummy
	s.mail = mail.NewQueue(d.Mail, s.log)
	s.waits = newCLIWaits()
	return s, nil
}

// Close sends the mail still queued and stops the queue. The service must
// not be used afterwards.
func (s *Service) Close() { s.mail.Close() }

// Ready reports whether the database answers.
func (s *Service) Ready(ctx context.Context) error {
	if err := s.store.Ping(ctx); err != nil {
		return &keyhole.Error{Code: keyhole.Unavailable, Message: "The database is unreachable.", Err: err}
	}
	return nil
}

// Now is the service's clock, for the surfaces' relative times (expires_in).
func (s *Service) Now() time.Time { return s.now() }

// clock returns the current time in UTC, truncated to what both databases keep.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

func newID() string { return uuid.NewString() }

// validID reports whether id is a UUID in canonical form.
func validID(id string) bool {
	u, err := uuid.Parse(id)
	return err == nil && u.String() == id
}

// storeErr turns a store sentinel into a domain error about resource.
func storeErr(err error, resource string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return &keyhole.Error{Code: keyhole.NotFound, Resource: resource, Message: "Couldn't find that " + resource + ".", Err: err}
	case errors.Is(err, store.ErrConflict):
		return &keyhole.Error{Code: keyhole.Conflict, Resource: resource, Message: "That " + resource + " conflicts with an existing one.", Err: err}
	case errors.Is(err, store.ErrStale):
		return &keyhole.Error{Code: keyhole.Conflict, Resource: resource, Message: "Your password or email changed meanwhile; please try again.", Err: err}
	default:
		var ke *keyhole.Error
		if errors.As(err, &ke) {
			return err
		}
		return &keyhole.Error{Code: keyhole.Internal, Message: "internal error", Err: err}
	}
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return "\"" + strings.ToValidUTF8(s, "") + "\""
}

func clipText(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "")
	}
	return s
}

// sweepBatch is how many rows one sweep statement deletes at most, so that
// a sweep never holds the database (SQLite's one writer, above all) for
// long; sweepPause lets other writers in between batches.
const (
	sweepBatch = 500
	sweepPause = 10 * time.Millisecond
)

// Sweep deletes what has expired, in batches: tokens and codes past their
// expiry (rotated refresh tokens once their reuse horizon is over), grants
// left with no token but codes that expired unused, login
// sessions with what was made through them, device authorizations nobody
// finished, the successors rotated refresh tokens keep for their grace,
// mailed links, and activity older than ActivityRetention. Serve runs it
// periodically; any replica may, concurrently with others.
func (s *Service) Sweep(ctx context.Context) error {
	now := s.clock()
	counts := map[string]int64{}
	at := func(del func(context.Context, time.Time, int) (int64, error)) func(context.Context, int) (int64, error) {
		return func(ctx context.Context, n int) (int64, error) { return del(ctx, now, n) }
	}
	for _, step := range []struct {
		what string
		run  func(context.Context, int) (int64, error)
	}{
		{"tokens", at(s.store.DeleteExpiredTokens)},
		{"grants", at(s.store.DeleteUnusedGrants)},
		{"sessions", at(s.store.DeleteExpiredSessions)},
		{"device_grants", at(s.store.DeleteExpiredDeviceGrants)},
		{"mail_tokens", at(s.store.DeleteExpiredMailTokens)},
		{"invitations", at(s.store.DeleteExpiredInvitations)},
		// A retired key goes once the last token it signed has expired.
		{"signing_keys", func(ctx context.Context, _ int) (int64, error) {
			return s.store.DeleteRetiredSigningKeys(ctx, now.Add(-IDTokenTTL))
		}},
		{"events", func(ctx context.Context, n int) (int64, error) {
			return s.store.DeleteExpiredEvents(ctx, now.Add(-ActivityRetention), n)
		}},
		// The grace is measured by the database's clock, as rotation does.
		{"successors", func(ctx context.Context, n int) (int64, error) {
			return s.store.ClearSuccessors(ctx, s.refreshGrace, n)
		}},
	} {
		for {
			n, err := step.run(ctx, sweepBatch)
			if err != nil {
				return storeErr(err, "sweep")
			}
			counts[step.what] += n
			if n < sweepBatch {
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(sweepPause):
			}
		}
	}
	if counts["tokens"]+counts["grants"]+counts["sessions"]+counts["device_grants"] > 0 {
		s.log.InfoContext(ctx, "swept expired", "tokens", counts["tokens"], "grants", counts["grants"], "sessions", counts["sessions"],
			"device_grants", counts["device_grants"], "successors", counts["successors"])
	}
	return nil
}
