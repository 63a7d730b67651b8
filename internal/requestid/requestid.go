// Package requestid gives every request an id, carried in its context and
// answered in the Request-Id header, so that logs and clients can name one
// request.
package requestid

import (
	"context"
	"net/http"
	"strings"

	"github.com/google/uuid"
)

type ctxKey struct{}

// From returns the request id carried by ctx, or "".
func From(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// With returns ctx carrying id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// Middleware assigns each request a new id. A Request-Id the client sent
// (the Heroku CLI sends a comma-separated list) is kept in front of it, as
// Heroku does, when it is short and printable.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := uuid.NewString()
		if in := r.Header.Get("Request-Id"); in != "" && len(in) <= 200 && printable(in) {
			id = in + "," + id
		}
		w.Header().Set("Request-Id", id)
		next.ServeHTTP(w, r.WithContext(With(r.Context(), id)))
	})
}

func printable(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r < 0x21 || r > 0x7e })
}
