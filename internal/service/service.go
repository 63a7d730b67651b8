// Package service holds Keyhole's rules: who may do what, how tokens are
// issued, expire, rotate and are revoked. It knows nothing of HTTP; the
// surfaces in api, oauth and web decode a request, call one method here and
// encode the answer.
package service

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/ratelimit"
	"github.com/keyhole/keyhole/internal/secret"
	"github.com/keyhole/keyhole/internal/store"
)

// Deps are the Service's dependencies.
type Deps struct {
	Store  store.Store
	Sealer *secret.Sealer
	Log    *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Password is the argon2id cost; the zero value means secret.OWASP.
	Password secret.PasswordParams
	// Lifetimes; zero values take the defaults in the Default… constants.
	AccessTTL time.Duration
	// RefreshGrace is how long a rotated refresh token stays usable, for
	// benign concurrent retries; negative disables the grace.
	RefreshGrace time.Duration
	// FailedLogins is how many wrong passwords an email may see per
	// FailedLoginWindow before sign-in is refused for a while; 0 means
	// DefaultFailedLogins.
	FailedLogins int
}

// Defaults for Deps' lifetimes.
const (
	DefaultAccessTTL    = 8 * time.Hour
	DefaultRefreshGrace = 10 * time.Second
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
)

// Service implements Keyhole's use cases over a store.
type Service struct {
	store        store.Store
	sealer       *secret.Sealer
	log          *slog.Logger
	now          func() time.Time
	password     secret.PasswordParams
	accessTTL    time.Duration
	refreshGrace time.Duration
	// failures counts wrong passwords per email (in this process).
	failures *ratelimit.Limiter
	// dummyHash is verified against when an email is unknown, so that a
	// login takes as long for a missing account as for a wrong password.
	dummyHash string
}

// New returns a Service.
func New(d Deps) (*Service, error) {
	s := &Service{
		store: d.Store, sealer: d.Sealer, log: d.Log, now: d.Now, password: d.Password,
		accessTTL: d.AccessTTL, refreshGrace: d.RefreshGrace,
	}
	if s.accessTTL <= 0 {
		s.accessTTL = DefaultAccessTTL
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
	if s.password == (secret.PasswordParams{}) {
		s.password = secret.OWASP
	}
	if d.FailedLogins <= 0 {
		d.FailedLogins = DefaultFailedLogins
	}
	s.failures = ratelimit.New(d.FailedLogins, FailedLoginWindow, s.now)
	if s.store == nil || s.sealer == nil {
		return nil, errors.New("service: Store and Sealer are required")
	}
	s.dummyHash = secret.HashPassword("keyhole-dummy-password", s.password)
	return s, nil
}

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

// Sweep deletes what has expired: tokens and codes past their expiry and
// device authorizations nobody finished. Serve runs it periodically; any
// replica may, concurrently with others.
func (s *Service) Sweep(ctx context.Context) error {
	now := s.clock()
	tokens, err := s.store.DeleteExpiredTokens(ctx, now)
	if err != nil {
		return storeErr(err, "token")
	}
	devices, err := s.store.DeleteExpiredDeviceGrants(ctx, now)
	if err != nil {
		return storeErr(err, "device grant")
	}
	if tokens+devices > 0 {
		s.log.InfoContext(ctx, "swept expired", "tokens", tokens, "device_grants", devices)
	}
	return nil
}
