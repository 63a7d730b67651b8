package api

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/ratelimit"
	"github.com/keyhole/keyhole/internal/requestid"
	"github.com/keyhole/keyhole/internal/service"
	"github.com/keyhole/keyhole/internal/token"
)

type actorKey struct{}
type loginKey struct{}

// loginCreds are email and password sent with Basic auth to the login route.
type loginCreds struct {
	email, password, otp string
}

func actorFrom(ctx context.Context) service.Actor {
	a, _ := ctx.Value(actorKey{}).(service.Actor)
	return a
}

func loginFrom(ctx context.Context) (loginCreds, bool) {
	c, ok := ctx.Value(loginKey{}).(loginCreds)
	return c, ok
}

// endpoint wraps a route's handler with authentication, the rate limit and
// the scope check of the route table.
func (a *API) endpoint(rt Route) http.Handler {
	h := rt.handler(a)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt.Secret {
			w.Header().Set("Cache-Control", "no-store")
		}
		ctx := r.Context()
		raw, user, isBasic, err := credentials(r)
		if err != nil {
			a.error(w, r, err)
			return
		}
		var actor service.Actor
		var rateKey string
		switch {
		case rt.Login && isBasic && raw != "" && !looksLikeToken(raw):
			// Basic email:password: the Heroku CLI's interactive login.
			ctx = context.WithValue(ctx, loginKey{}, loginCreds{email: user, password: raw, otp: r.Header.Get("Heroku-Two-Factor-Code")})
			rateKey = "login:" + ratelimit.AddressKey(clientIP(r))
		case rt.Scope == "":
			// Routes that take no token (the client authenticates otherwise).
			rateKey = "ip:" + ratelimit.AddressKey(clientIP(r))
		case raw == "":
			a.error(w, r, keyhole.Errorf(keyhole.Unauthorized, "Authentication required: send a token as Authorization: Bearer TOKEN."))
			return
		default:
			actor, err = a.svc.VerifyTokenFrom(ctx, raw, clientIP(r))
			if err != nil {
				a.error(w, r, err)
				return
			}
			rateKey = actorRateKey(actor)
			ctx = context.WithValue(ctx, actorKey{}, actor)
		}
		if a.limiter != nil {
			res := ratelimit.Result{OK: true}
			var err error
			if rt.Free {
				res.Remaining, err = a.limiter.Remaining(ctx, rateKey)
			} else {
				res, err = a.limiter.Take(ctx, rateKey)
			}
			switch {
			case err != nil:
				// The budget cannot be reached (a shared one answers from
				// the process meanwhile: ratelimit.Bounded): refuse rather
				// than serve unrationed.
				a.log.WarnContext(ctx, "rate limit unavailable", "request_id", requestid.From(ctx), "err", err)
				a.error(w, r, &keyhole.Error{Code: keyhole.Unavailable, Message: "Keyhole cannot reach its rate limits right now. Please try again in a moment.", RetryAfter: time.Second, Err: err})
				return
			case !res.OK:
				w.Header().Set("RateLimit-Remaining", "0")
				e := keyhole.Errorf(keyhole.RateLimited, "Your account reached the API rate limit. Please wait a few minutes before making new requests.")
				e.RetryAfter = res.RetryAfter
				a.error(w, r, e)
				return
			default:
				w.Header().Set("RateLimit-Remaining", strconv.Itoa(res.Remaining))
			}
		}
		if _, login := loginFrom(ctx); !login && rt.Scope != "" && !actor.Can(rt.Scope) {
			a.error(w, r, keyhole.Errorf(keyhole.Forbidden, "This action needs a token with the %s scope; this one has %s.", rt.Scope, strings.Join(actor.Scope, ", ")))
			return
		}
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// credentials reads the Authorization header: Bearer TOKEN, or Basic with
// any user and the token (or, on the login route, the password) as password.
func credentials(r *http.Request) (secret, user string, basic bool, err error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", "", false, nil
	}
	scheme, rest, _ := strings.Cut(h, " ")
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		return strings.TrimSpace(rest), "", false, nil
	case strings.EqualFold(scheme, "Basic"):
		u, p, ok := r.BasicAuth()
		if !ok {
			return "", "", true, keyhole.Errorf(keyhole.Unauthorized, "Malformed Basic credentials.")
		}
		return p, u, true, nil
	default:
		return "", "", false, keyhole.Errorf(keyhole.Unauthorized, "Unsupported authorization scheme: use Bearer.")
	}
}

func looksLikeToken(s string) bool {
	_, err := token.Parse(s)
	return err == nil
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// actorRateKey names the bucket an authenticated caller spends from: its
// account, or for a client acting as itself, the client.
func actorRateKey(actor service.Actor) string {
	if actor.AccountID == "" {
		return "client:" + actor.Authorization.ClientID
	}
	return "account:" + actor.AccountID
}
