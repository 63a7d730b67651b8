package server

import (
	"strconv"
	"strings"
	"time"
)

// appendAccessLine appends the access log's line for one request exactly
// as slog's TextHandler writes the record accessLog would log, and
// reports true; or, when a string in it would need quoting (which the
// TextHandler decides with rules of its own), appends nothing and reports
// false, and the caller logs through slog. It exists because the
// TextHandler costs a microsecond more on every request, several percent
// of a GET /account (docs/performance.md).
func appendAccessLine(b []byte, t time.Time, id, method, path string, status, n int, d time.Duration) ([]byte, bool) {
	if !plain(id) || !plain(method) || !plain(path) {
		return b, false
	}
	b = append(b, "time="...)
	b = appendMillis(b, t)
	b = append(b, " level=INFO msg=request request_id="...)
	b = append(b, id...)
	b = append(b, " method="...)
	b = append(b, method...)
	b = append(b, " path="...)
	b = append(b, path...)
	b = append(b, " status="...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, " bytes="...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, " duration="...)
	b = append(b, d.String()...)
	return append(b, '\n'), true
}

// plain reports whether s is printable ASCII without a space, '=', '"' or
// '\': what the TextHandler writes as it is.
func plain(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '=' || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// appendMillis appends t as the TextHandler does: RFC 3339 with exactly
// three digits of milliseconds.
func appendMillis(b []byte, t time.Time) []byte {
	const prefix = len("2006-01-02T15:04:05.000")
	n := len(b)
	// RFC3339Nano drops trailing zeros: a tenth of a millisecond more
	// keeps four digits, of which the fourth goes.
	b = t.Round(0).Truncate(time.Millisecond).Add(time.Millisecond/10).AppendFormat(b, time.RFC3339Nano)
	return append(b[:n+prefix], b[n+prefix+1:]...)
}

// redactPath hides the secrets a path may carry: Heroku's API puts a team
// invitation's token in the path (/teams/invitations/{token}), and a
// caller may put any token there by mistake. Each segment shaped like a
// Keyhole secret ("kh" + a letter + "_") keeps its prefix only. Paths
// without one are returned as they are, with no allocation.
func redactPath(path string) string {
	if !strings.Contains(path, "/kh") {
		return path
	}
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if len(s) > 4 && s[0] == 'k' && s[1] == 'h' && s[3] == '_' {
			segs[i] = s[:4] + "REDACTED"
		}
	}
	return strings.Join(segs, "/")
}
