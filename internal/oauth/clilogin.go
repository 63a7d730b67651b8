package oauth

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/service"
)

// The Heroku CLI's browser login (`heroku login` without -i), answered on
// the host HEROKU_LOGIN_HOST names:
//
//  1. POST /auth {"description": …} answers {browser_url, cli_url, token};
//     the URLs are paths on this host.
//  2. The CLI opens browser_url: the device page, with the login's code
//     filled in, where the person signs in and approves the login.
//  3. The CLI sends GET cli_url with Authorization: Bearer <token> and
//     waits for {"access_token": …} or {"error": …}.
//
// The CLI gives up on a connection idle for 60 seconds and retries only a
// status above 500. So the wait answers errors it knows at once with
// their status; otherwise, after cliLoginQuiet, it commits to 200 and
// keeps the connection alive with a space every cliLoginHeartbeat (JSON
// allows leading whitespace) until the answer, which may still be
// {"error": …}.

// cliLoginQuiet is how long the wait keeps its status open; cliLoginHeartbeat
// how often a committed wait sends a space.
var (
	cliLoginQuiet     = 5 * time.Second
	cliLoginHeartbeat = 15 * time.Second
)

// maxJSON caps the body of POST /auth.
const maxJSON = 4 << 10

func (o *OAuth) cliLoginStart(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Description string `json:"description"`
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			o.error(w, r, invalidRequest("Send the request as JSON (Content-Type: application/json)."))
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSON))
	if err != nil {
		o.error(w, r, invalidRequest("The request body is malformed or too large."))
		return
	}
	if strings.TrimSpace(string(body)) != "" {
		if err := json.Unmarshal(body, &req); err != nil {
			o.error(w, r, invalidRequest("The request body must be a JSON object such as {\"description\": \"…\"}."))
			return
		}
	}
	start, err := o.svc.StartCLILogin(r.Context(), req.Description, clientIP(r))
	if err != nil {
		o.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		BrowserURL string `json:"browser_url"`
		CLIURL     string `json:"cli_url"`
		Token      string `json:"token"`
		ExpiresIn  int    `json:"expires_in"`
	}{
		BrowserURL: "/device?user_code=" + url.QueryEscape(start.UserCode),
		CLIURL:     "/auth/cli",
		Token:      start.PollToken.Reveal(),
		ExpiresIn:  start.ExpiresIn,
	})
}

// cliLoginAnswer is what the wait answers: the token, or the RFC's error
// with Heroku's id and message beside it.
type cliLoginAnswer struct {
	AccessToken string `json:"access_token,omitempty"`
	TokenType   string `json:"token_type,omitempty"`
	ExpiresIn   int64  `json:"expires_in,omitempty"`
	Scope       string `json:"scope,omitempty"`
	errorBody
}

func (o *OAuth) cliLoginWait(w http.ResponseWriter, r *http.Request) {
	scheme, raw, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(raw) == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="keyhole"`)
		o.error(w, r, &oauthError{http.StatusUnauthorized, "invalid_request", "Send the login's token as Authorization: Bearer <token>."})
		return
	}
	ctx := r.Context()
	rc := http.NewResponseController(w)
	// The login lives 10 minutes; the server's write timeout would cut
	// the wait short.
	_ = rc.SetWriteDeadline(time.Now().Add(service.DeviceCodeTTL + time.Minute))
	type result struct {
		g   service.TokenGrant
		err error
	}
	done := make(chan result, 1)
	go func() {
		g, err := o.svc.AwaitCLILogin(ctx, strings.TrimSpace(raw), clientIP(r))
		done <- result{g, err}
	}()
	var res result
	select {
	case res = <-done:
		if res.err != nil {
			o.error(w, r, res.err)
			return
		}
		writeJSON(w, http.StatusOK, o.cliLoginAnswer(res.g, nil))
		return
	case <-time.After(cliLoginQuiet):
	}
	// Committed: 200, then spaces until the answer.
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	beat := time.NewTicker(cliLoginHeartbeat)
	defer beat.Stop()
	for {
		select {
		case res = <-done:
			_ = json.NewEncoder(w).Encode(o.cliLoginAnswer(res.g, res.err))
			return
		case <-beat.C:
			if _, err := w.Write([]byte(" ")); err != nil {
				return // the CLI went away; AwaitCLILogin ends with ctx
			}
			_ = rc.Flush()
		}
	}
}

func (o *OAuth) cliLoginAnswer(g service.TokenGrant, err error) cliLoginAnswer {
	if err != nil {
		var oe *oauthError
		if !errors.As(err, &oe) {
			wire, ok := errorWire[keyhole.ErrorCode(err)]
			if !ok {
				o.log.Error("internal error", "err", err)
				wire.code = "server_error"
				err = errors.New("internal")
			}
			oe = &oauthError{code: wire.code, description: keyhole.ErrorMessage(err)}
		}
		return cliLoginAnswer{errorBody: errorBody{Error: oe.code, ErrorDescription: oe.description, ID: oe.code, Message: oe.description}}
	}
	return cliLoginAnswer{
		AccessToken: g.Access.Value.Reveal(), TokenType: "Bearer",
		ExpiresIn: max(int64((g.Access.ExpiresAt.Sub(o.svc.Now())+time.Second/2)/time.Second), 1),
		Scope:     keyhole.JoinScope(g.Scope),
	}
}
