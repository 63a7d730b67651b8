package keyhole

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. Each surface maps them to its own wire form in one table.
const (
	Internal     = "internal"       // a fault of the server; never shown in detail
	Invalid      = "invalid"        // the request's parameters fail validation
	BadRequest   = "bad_request"    // the request cannot be parsed
	NotFound     = "not_found"      // no such resource visible to the caller
	Conflict     = "conflict"       // the change collides with existing state (duplicate)
	Unauthorized = "unauthorized"   // no valid credentials
	Forbidden    = "forbidden"      // valid credentials, not allowed (for example scope)
	TwoFactor    = "two_factor"     // a second factor is required
	RateLimited  = "rate_limited"   // the caller is out of rate-limit tokens
	Unavailable  = "unavailable"    // a dependency is down
	Gone         = "gone"           // the thing existed and is used up (a grant code)
	NotAccepted  = "not_acceptable" // the requested representation is not served

	// The OAuth 2.0 errors (RFC 6749 §4.1.2.1, §5.2, RFC 8628 §3.5) that have no
	// general equivalent above.
	InvalidGrant         = "invalid_grant"         // code or refresh token unknown, expired, used or not this client's
	InvalidClient        = "invalid_client"        // client authentication failed
	UnauthorizedClient   = "unauthorized_client"   // the client may not use this grant
	InvalidScope         = "invalid_scope"         // the requested scope is unknown or exceeds the grant
	AuthorizationPending = "authorization_pending" // device flow: the person has not answered yet
	SlowDown             = "slow_down"             // device flow: polling too fast
	ExpiredToken         = "expired_token"         // device flow: the device code expired
	AccessDenied         = "access_denied"         // the person refused
	// UnsupportedResponse is an authorization request's response_type
	// other than code (RFC 6749 §4.1.2.1).
	UnsupportedResponse = "unsupported_response_type"

	// The OpenID Connect authorization errors (Core 1.0 §3.1.2.6).
	LoginRequired          = "login_required"            // prompt=none, and nobody (or somebody else) is signed in
	ConsentRequired        = "consent_required"          // prompt=none, and consent is needed
	RequestNotSupported    = "request_not_supported"     // a request object was sent
	RequestURINotSupported = "request_uri_not_supported" // a request_uri was sent
)

// Error is a domain error with a code and a message safe to show to users.
// Err, when set, carries the underlying cause for logs only.
type Error struct {
	Code     string
	Message  string
	Resource string // for NotFound: the kind of resource ("account", "authorization", …)
	// RetryAfter, for RateLimited and Unavailable, is how long the caller
	// should wait before trying again.
	RetryAfter time.Duration
	Err        error
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// NotFoundError returns a NotFound error naming the kind of resource.
func NotFoundError(resource string) *Error {
	return &Error{Code: NotFound, Resource: resource, Message: fmt.Sprintf("Couldn't find that %s.", resource)}
}

// ErrorCode returns the code of err, or Internal for an error that is not an *Error.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// ErrorMessage returns the user-safe message of err, or a generic message for
// an error that is not an *Error.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "An internal error occurred. Please try again later."
}

// ErrorResource returns the resource kind of a NotFound error, or "".
func ErrorResource(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Resource
	}
	return ""
}

// ErrorRetryAfter returns how long the caller of a RateLimited or
// Unavailable error should wait, at least one second; 0 for other errors.
func ErrorRetryAfter(err error) time.Duration {
	var e *Error
	if !errors.As(err, &e) || (e.Code != RateLimited && e.Code != Unavailable) {
		return 0
	}
	return max(e.RetryAfter, time.Second)
}
