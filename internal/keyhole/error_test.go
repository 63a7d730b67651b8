package keyhole_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
)

func TestErrorAccessors(t *testing.T) {
	cause := errors.New("connection reset by peer")
	ke := &keyhole.Error{Code: keyhole.NotFound, Message: "Couldn't find that app.", Resource: "app", Err: cause}
	wrapped := fmt.Errorf("loading: %w", ke)
	plain := errors.New("pq: password authentication failed for user keyhole")

	if got := keyhole.ErrorCode(wrapped); got != keyhole.NotFound {
		t.Errorf("ErrorCode of a wrapped error = %q, want not_found", got)
	}
	if got := keyhole.ErrorCode(plain); got != keyhole.Internal {
		t.Errorf("ErrorCode of a foreign error = %q, want internal", got)
	}
	if got := keyhole.ErrorCode(nil); got != keyhole.Internal {
		t.Errorf("ErrorCode(nil) = %q, want internal", got)
	}
	if got := keyhole.ErrorMessage(wrapped); got != ke.Message {
		t.Errorf("ErrorMessage = %q", got)
	}
	// A foreign error's text may hold anything (a driver's detail): it is
	// never the message shown.
	if got := keyhole.ErrorMessage(plain); strings.Contains(got, "pq") || got == "" {
		t.Errorf("ErrorMessage of a foreign error = %q, want the generic message", got)
	}
	if got := keyhole.ErrorResource(wrapped); got != "app" {
		t.Errorf("ErrorResource = %q", got)
	}
	if got := keyhole.ErrorResource(plain); got != "" {
		t.Errorf("ErrorResource of a foreign error = %q", got)
	}
	if !errors.Is(wrapped, cause) {
		t.Error("the cause is not reachable with errors.Is")
	}
	if got := ke.Error(); !strings.Contains(got, "not_found") || !strings.Contains(got, cause.Error()) {
		t.Errorf("Error() = %q, want the code and the cause (for logs)", got)
	}
	if got := keyhole.NotFoundError("client"); got.Code != keyhole.NotFound || got.Resource != "client" || got.Message != "Couldn't find that client." {
		t.Errorf("NotFoundError = %+v", got)
	}
	if got := keyhole.Errorf(keyhole.Invalid, "%d problems", 2); got.Code != keyhole.Invalid || got.Message != "2 problems" || got.Error() != "invalid: 2 problems" {
		t.Errorf("Errorf = %+v (%q)", got, got.Error())
	}
}

func TestErrorRetryAfter(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want time.Duration
	}{
		{&keyhole.Error{Code: keyhole.RateLimited}, time.Second},
		{&keyhole.Error{Code: keyhole.RateLimited, RetryAfter: time.Millisecond}, time.Second},
		{&keyhole.Error{Code: keyhole.RateLimited, RetryAfter: time.Second}, time.Second},
		{&keyhole.Error{Code: keyhole.RateLimited, RetryAfter: 90 * time.Second}, 90 * time.Second},
		{fmt.Errorf("x: %w", &keyhole.Error{Code: keyhole.Unavailable, RetryAfter: 3 * time.Second}), 3 * time.Second},
		{&keyhole.Error{Code: keyhole.Unavailable}, time.Second},
		{&keyhole.Error{Code: keyhole.Forbidden, RetryAfter: time.Minute}, 0},
		{errors.New("foreign"), 0},
		{nil, 0},
	} {
		if got := keyhole.ErrorRetryAfter(tt.err); got != tt.want {
			t.Errorf("ErrorRetryAfter(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
