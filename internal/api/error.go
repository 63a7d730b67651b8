package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/requestid"
)

// apiError is an error that only the API surface produces (a bad Range, an
// oversize body), already in wire form.
type apiError struct {
	status      int
	id, message string
}

func (e *apiError) Error() string { return e.id + ": " + e.message }

// errorWire maps each domain error code to its status and Heroku error id:
// the one mapping of this surface.
var errorWire = map[string]struct {
	status int
	id     string
}{
	keyhole.Invalid:      {http.StatusUnprocessableEntity, "invalid_params"},
	keyhole.BadRequest:   {http.StatusBadRequest, "bad_request"},
	keyhole.NotFound:     {http.StatusNotFound, "not_found"},
	keyhole.Conflict:     {http.StatusConflict, "conflict"},
	keyhole.Unauthorized: {http.StatusUnauthorized, "unauthorized"},
	keyhole.Forbidden:    {http.StatusForbidden, "forbidden"},
	keyhole.TwoFactor:    {http.StatusForbidden, "two_factor"},
	keyhole.RateLimited:  {http.StatusTooManyRequests, "rate_limit"},
	keyhole.Unavailable:  {http.StatusServiceUnavailable, "unavailable"},
	keyhole.Gone:         {http.StatusGone, "gone"},
	keyhole.NotAccepted:  {http.StatusNotAcceptable, "not_acceptable"},
	keyhole.Internal:     {http.StatusInternalServerError, "internal_server_error"},

	// Token exchange (POST /oauth/tokens): a bad grant or client is a bad
	// credential, as Heroku answers it.
	keyhole.InvalidGrant:       {http.StatusUnauthorized, "unauthorized"},
	keyhole.InvalidClient:      {http.StatusUnauthorized, "unauthorized"},
	keyhole.UnauthorizedClient: {http.StatusForbidden, "forbidden"},
	keyhole.InvalidScope:       {http.StatusUnprocessableEntity, "invalid_params"},
	keyhole.AccessDenied:       {http.StatusForbidden, "forbidden"},
}

type errorBody struct {
	ID       string `json:"id"`
	Message  string `json:"message"`
	Resource string `json:"resource,omitempty"`
}

// error writes err as a Heroku error body. Internal errors are logged with
// the request id and shown only as a generic message.
func (a *API) error(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if errors.As(err, &ae) {
		writeJSON(w, ae.status, errorBody{ID: ae.id, Message: ae.message})
		return
	}
	code := keyhole.ErrorCode(err)
	wire, ok := errorWire[code]
	if !ok {
		wire = errorWire[keyhole.Internal]
	}
	body := errorBody{ID: wire.id, Message: keyhole.ErrorMessage(err), Resource: keyhole.ErrorResource(err)}
	switch code {
	case keyhole.Internal:
		a.log.ErrorContext(r.Context(), "internal error", "request_id", requestid.From(r.Context()), "err", err)
		body.Message = keyhole.ErrorMessage(errors.New("internal"))
	case keyhole.TwoFactor:
		w.Header().Set("Heroku-Two-Factor-Required", "true")
	case keyhole.RateLimited, keyhole.Unavailable:
		w.Header().Set("Retry-After", strconv.Itoa(int((keyhole.ErrorRetryAfter(err)+time.Second-1)/time.Second)))
	case keyhole.Unauthorized, keyhole.InvalidGrant, keyhole.InvalidClient:
		w.Header().Set("WWW-Authenticate", `Bearer realm="keyhole"`)
	}
	writeJSON(w, wire.status, body)
}
