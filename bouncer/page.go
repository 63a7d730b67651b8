package bouncer

import (
	"bytes"
	"html/template"
	"log/slog"
	"net/http"
)

// Page is what the bouncer shows instead of the app when a person cannot
// go on, or must confirm signing out: what happened, and the way back.
// Config.Render draws it; it must write Status.
type Page struct {
	// Status is the response's status code.
	Status int
	// Problem names the situation, so that a renderer can tell them apart:
	// "declined" (the person denied consent), "state" (a callback with a
	// wrong, missing, replayed or stale state), "issuer" (an iss that is
	// not Keyhole's), "refused" (Keyhole refused the sign-in), "expired"
	// (the session outlived SessionLife), "revoked" (Keyhole no longer
	// honours the grant), "not-allowed" (an email outside the allow-list),
	// "scope" (too little access granted), "unreachable" (Keyhole did not
	// answer, or not sensibly), "sign-in" (a non-GET request without a
	// session), "sign-out" (the sign-out button), "signed-out-here" (signed
	// out, but Keyhole could not be told), "cross-site" (a form posted from
	// another site), "method" and "internal"; on OpenID Connect also
	// "id-token" (a missing ID token, or one that does not check out:
	// signature, issuer, audience, expiry, nonce, at_hash) and "subject"
	// (Keyhole names another person for the token than the ID token did).
	Problem string
	// Title and Message are plain text.
	Title, Message string
	// Link and LinkText are the way back. When Post is set, Link is the
	// action of a form to be sent with a button labelled LinkText.
	Link, LinkText string
	Post           bool
}

// way says where a page's link leads.
type way int

const (
	wayHome    way = iota // the app's Home
	waySignIn             // sign in, coming back to where the person was
	wayRetry              // the same request again (a GET), else sign in
	waySignOut            // the sign-out button
)

// problem is one situation the bouncer answers with a page.
type problem struct {
	code     string
	status   int
	title    string
	message  func(app, detail string) string
	way      way
	linkText string
	// forget drops the grant from the session.
	forget bool
	// level is how the cause is logged; below Debug means not at all.
	level  slog.Level
	detail string
}

// about returns p with a detail for its message (an email address).
func (p *problem) about(detail string) *problem {
	q := *p
	q.detail = detail
	return &q
}

const quiet = slog.LevelDebug - 1

// The bouncer's problems: the one table of statuses, words and ways back.
// A 401 here is a page asking to sign in; cookies are not an HTTP
// authentication scheme, so it carries no WWW-Authenticate.
var (
	problemDeclined = &problem{code: "declined", status: http.StatusForbidden, title: "You declined",
		message: func(app, _ string) string {
			return "You chose not to let " + app + " use your Keyhole account, so you are not signed in. Nothing was shared."
		},
		way: wayHome, linkText: "Back to the start", level: quiet}
	problemState = &problem{code: "state", status: http.StatusBadRequest, title: "This sign-in cannot be finished",
		message: func(string, string) string {
			return "It was not started in this browser, took too long, or was already finished. Start again to sign in."
		},
		way: waySignIn, linkText: "Sign in again", level: slog.LevelInfo}
	problemIssuer = &problem{code: "issuer", status: http.StatusBadRequest, title: "This sign-in cannot be trusted",
		message: func(app, _ string) string {
			return "The answer did not come from the Keyhole that " + app + " signs people in with, so it was not accepted. Start again to sign in."
		},
		way: waySignIn, linkText: "Sign in again", level: slog.LevelWarn}
	problemRefused = &problem{code: "refused", status: http.StatusBadRequest, title: "Keyhole did not accept this sign-in",
		message: func(string, string) string {
			return "It may have been used already, or taken too long. Start again to sign in; if it keeps happening, tell the people who run this app."
		},
		way: waySignIn, linkText: "Sign in again", level: slog.LevelWarn}
	problemIDToken = &problem{code: "id-token", status: http.StatusBadRequest, title: "This sign-in cannot be trusted",
		message: func(app, _ string) string {
			return "Keyhole's answer did not prove who signed in to " + app + " in this browser, so it was not accepted. Start again to sign in."
		},
		way: waySignIn, linkText: "Sign in again", forget: true, level: slog.LevelWarn}
	problemSubject = &problem{code: "subject", status: http.StatusUnauthorized, title: "Please sign in again",
		message: func(app, _ string) string {
			return "Keyhole no longer vouches that " + app + "'s access is the account you signed in with, so you are signed out. Sign in again to go on."
		},
		way: waySignIn, linkText: "Sign in again", forget: true, level: slog.LevelWarn}
	problemExpired = &problem{code: "expired", status: http.StatusUnauthorized, title: "Your session has ended",
		message: func(string, string) string {
			return "You signed in more than 8 hours ago. Sign in again to go on."
		},
		way: waySignIn, linkText: "Sign in again", forget: true, level: quiet}
	problemRevoked = &problem{code: "revoked", status: http.StatusUnauthorized, title: "Please sign in again",
		message: func(app, _ string) string {
			return "Keyhole no longer lets " + app + " use your account: the access was revoked or has ended. Sign in again to go on."
		},
		way: waySignIn, linkText: "Sign in again", forget: true, level: slog.LevelInfo}
	problemNotAllowed = &problem{code: "not-allowed", status: http.StatusForbidden, title: "Not allowed",
		message: func(app, email string) string {
			return email + " may not use " + app + ". Ask the people who run it for access, or sign out of Keyhole and sign in with another account."
		},
		way: wayHome, linkText: "Back to the start", forget: true, level: slog.LevelInfo}
	problemScope = &problem{code: "scope", status: http.StatusForbidden, title: "Not enough access",
		message: func(app, _ string) string {
			return "Keyhole granted " + app + " less access than it needs. Sign in again and allow what it asks for."
		},
		way: waySignIn, linkText: "Sign in again", forget: true, level: slog.LevelWarn}
	problemUnreachable = &problem{code: "unreachable", status: http.StatusBadGateway, title: "Keyhole cannot be reached",
		message: func(app, _ string) string {
			return "Keyhole, which " + app + " signs you in with, did not answer properly. Please try again in a moment."
		},
		way: wayRetry, linkText: "Try again", level: slog.LevelWarn}
	problemSignInRequired = &problem{code: "sign-in", status: http.StatusUnauthorized, title: "Please sign in",
		message: func(app, _ string) string { return "Sign in with Keyhole to use " + app + "." },
		way:     waySignIn, linkText: "Sign in with Keyhole", level: quiet}
	problemSignOut = &problem{code: "sign-out", status: http.StatusOK, title: "Sign out?",
		message: func(app, _ string) string {
			return "Signing out ends your session here and " + app + "'s access to your Keyhole account."
		},
		way: waySignOut, linkText: "Sign out", level: quiet}
	problemSignOutOpenID = &problem{code: "sign-out", status: http.StatusOK, title: "Sign out?",
		message: func(app, _ string) string {
			return "Signing out ends your session here and " + app + "'s access to your Keyhole account, and signs this browser out of Keyhole."
		},
		way: waySignOut, linkText: "Sign out", level: quiet}
	problemSignedOutHere = &problem{code: "signed-out-here", status: http.StatusBadGateway, title: "Signed out here only",
		message: func(app, _ string) string {
			return "You are signed out of " + app + ", but Keyhole could not be told to end its access. You can revoke it on Keyhole's Authorized applications page."
		},
		way: wayHome, linkText: "Back to the start", level: slog.LevelWarn}
	problemCrossSite = &problem{code: "cross-site", status: http.StatusForbidden, title: "Please try again",
		message: func(app, _ string) string {
			return "This form did not come from " + app + ", so it was not accepted."
		},
		way: wayHome, linkText: "Back to the start", level: slog.LevelInfo}
	problemMethod = &problem{code: "method", status: http.StatusMethodNotAllowed, title: "Not here",
		message: func(string, string) string { return "This address does not take that kind of request." },
		way:     wayHome, linkText: "Back to the start", level: quiet}
	problemInternal = &problem{code: "internal", status: http.StatusInternalServerError, title: "Something went wrong",
		message: func(string, string) string { return "Please try again in a moment." },
		way:     wayHome, linkText: "Back to the start", level: slog.LevelError}
)

// fail answers r with p's page; cause is logged at p's level, never shown.
func (b *Bouncer) fail(w http.ResponseWriter, r *http.Request, p *problem, cause error) {
	next := b.home
	if b.guarded(r) && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		next = r.URL.RequestURI()
	}
	b.failTo(w, r, p, cause, next)
}

// failTo is fail for a sign-in that was on its way to next.
func (b *Bouncer) failTo(w http.ResponseWriter, r *http.Request, p *problem, cause error, next string) {
	if p.level >= slog.LevelDebug {
		attrs := []any{"problem", p.code, "path", r.URL.Path}
		if cause != nil {
			attrs = append(attrs, "err", cause)
		}
		b.log.Log(r.Context(), p.level, "bouncer: "+p.title, attrs...)
	}
	pg := Page{Status: p.status, Problem: p.code, Title: p.title, Message: p.message(b.appName, p.detail), LinkText: p.linkText}
	switch p.way {
	case wayHome:
		pg.Link = b.home
	case waySignIn:
		pg.Link = b.signInURL(next)
	case wayRetry:
		pg.Link = b.signInURL(next)
		if r.Method == http.MethodGet && r.URL.Path != b.paths.callback {
			pg.Link = r.URL.RequestURI()
		}
	case waySignOut:
		pg.Link, pg.Post = b.paths.signOut, true
	}
	if p.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", b.allowHeader(r.URL.Path))
	}
	w.Header().Set("Cache-Control", "no-store")
	b.render(w, r, pg)
}

// guarded reports whether r is for the app rather than the bouncer's own
// paths.
func (b *Bouncer) guarded(r *http.Request) bool {
	switch r.URL.Path {
	case b.paths.signIn, b.paths.callback, b.paths.signOut:
		return false
	}
	return true
}

func (b *Bouncer) allowHeader(path string) string {
	if path == b.paths.signOut {
		return "GET, HEAD, POST"
	}
	return "GET, HEAD"
}

var defaultPage = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
<p>{{.Message}}</p>
{{if .Post}}<form method="post" action="{{.Link}}"><button type="submit">{{.LinkText}}</button></form>
{{else}}<p><a href="{{.Link}}">{{.LinkText}}</a></p>
{{end}}</main>
</body>
</html>
`))

// defaultRender draws p on a plain page.
func defaultRender(w http.ResponseWriter, r *http.Request, p Page) {
	var buf bytes.Buffer
	if err := defaultPage.Execute(&buf, p); err != nil {
		// The template is fixed and its data plain strings: this cannot
		// happen, but it still gets an answer rather than half a page.
		http.Error(w, p.Title, p.Status)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}
