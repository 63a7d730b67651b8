package web

import (
	"encoding/base64"
	"html/template"
	"net/http"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/keyhole/keyhole/internal/service"
	"github.com/keyhole/keyhole/internal/token"
)

// twoFactor is what the two-factor page shows.
type twoFactor struct {
	Status service.MFAStatus
	// While enrolling: the seed as text, its QR code (a PNG data: URI),
	// and the handle the confirming form carries.
	Secret string
	QR     template.URL
	Handle string
}

// qrPNG renders an otpauth:// URL as a PNG data: URI. The page's CSP
// allows data: images for it (and nothing else does).
func qrPNG(otpauth string) (template.URL, error) {
	png, err := qrcode.Encode(otpauth, qrcode.Medium, 240)
	if err != nil {
		return "", err
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)), nil
}

// showEnrolment renders the two-factor page with an enrolment.
func (h *Web) showEnrolment(w http.ResponseWriter, r *http.Request, m me, status int, e service.Enrolment, err error) {
	qr, qerr := qrPNG(e.URL.Reveal())
	if qerr != nil {
		h.fail(w, r, qerr)
		return
	}
	w.Header().Set("Content-Security-Policy", policy("", "data:"))
	p := page{Title: "Two-factor authentication", Data: twoFactor{Secret: e.Secret.Reveal(), QR: qr, Handle: e.Handle}}
	if err != nil {
		h.showError(w, r, m, "two_factor", "two-factor", p, err)
		return
	}
	h.show(w, r, m, status, "two_factor", "two-factor", p)
}

// twoFactorPage is /dashboard/two-factor: the status, and while MFA is
// off, a new seed to enrol (QR code and text) with the form that
// confirms it.
func (h *Web) twoFactorPage(w http.ResponseWriter, r *http.Request, m me) {
	if m.acct.MFAEnabled {
		st, err := h.svc.TwoFactorStatus(r.Context(), m.actor)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.show(w, r, m, http.StatusOK, "two_factor", "two-factor", page{Title: "Two-factor authentication", Data: twoFactor{Status: st}})
		return
	}
	e, err := h.svc.StartMFA(r.Context(), m.actor)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.showEnrolment(w, r, m, http.StatusOK, e, nil)
}

// twoFactorEnable confirms the enrolment (password and a first code) and
// shows the recovery codes, once.
func (h *Web) twoFactorEnable(w http.ResponseWriter, r *http.Request, m me) {
	handle := r.PostFormValue("handle")
	codes, err := h.svc.EnableMFA(r.Context(), m.actor, handle, r.PostFormValue("password"), r.PostFormValue("code"))
	if err != nil {
		e, rerr := h.svc.ResumeMFA(r.Context(), m.actor, handle)
		if rerr != nil {
			h.fail(w, r, err)
			return
		}
		h.showEnrolment(w, r, m, 0, e, err)
		return
	}
	m.acct.MFAEnabled = true
	h.showCodes(w, r, m, codes, "Two-factor authentication is on.")
}

// twoFactorDisable turns MFA off, with the password and a code.
func (h *Web) twoFactorDisable(w http.ResponseWriter, r *http.Request, m me) {
	if err := h.svc.DisableMFA(r.Context(), m.actor, r.PostFormValue("password"), r.PostFormValue("code")); err != nil {
		h.showError(w, r, m, "two_factor", "two-factor", page{Title: "Two-factor authentication", Data: twoFactor{Status: service.MFAStatus{Enabled: true}}}, err)
		return
	}
	done(w, r, "/dashboard/two-factor", "mfa-off")
}

// recoveryCodes replaces the recovery codes, after the password, and
// shows the new ones, once.
func (h *Web) recoveryCodes(w http.ResponseWriter, r *http.Request, m me) {
	codes, err := h.svc.RegenerateRecoveryCodes(r.Context(), m.actor, r.PostFormValue("password"))
	if err != nil {
		h.showError(w, r, m, "two_factor", "two-factor", page{Title: "Two-factor authentication", Data: twoFactor{Status: service.MFAStatus{Enabled: true}}}, err)
		return
	}
	h.showCodes(w, r, m, codes, "New recovery codes: the old ones no longer work.")
}

func (h *Web) showCodes(w http.ResponseWriter, r *http.Request, m me, codes []token.Secret, notice string) {
	list := make([]string, len(codes))
	for i, c := range codes {
		list[i] = c.Reveal()
	}
	h.show(w, r, m, http.StatusOK, "recovery_codes", "two-factor", page{Title: "Recovery codes", Notice: notice, Data: list})
}
