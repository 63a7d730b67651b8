package web

import (
	"net/http"
	"net/url"
)

// device is /device (RFC 8628 §3.3): the signed-in person types the code a
// device shows, sees what it asks for, and allows or denies it. The
// consent form posts back only a handle of what it showed and the
// decision.
func (h *Web) device(w http.ResponseWriter, r *http.Request) {
	actor, _, ok := h.current(r)
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		code := r.URL.Query().Get("user_code")
		if !ok {
			next := "/device"
			if code != "" {
				next += "?user_code=" + url.QueryEscape(code)
			}
			http.Redirect(w, r, loginURL(next), http.StatusSeeOther)
			return
		}
		h.render(w, r, http.StatusOK, "device", page{Title: "Connect a device", UserCode: clip(code)})
	case http.MethodPost:
		if !h.parsePost(w, r) {
			return
		}
		if !ok {
			http.Redirect(w, r, loginURL("/device"), http.StatusSeeOther)
			return
		}
		if answer := r.PostFormValue("authorize"); answer == "Allow" || answer == "Deny" {
			c, err := h.svc.AnswerDevice(r.Context(), actor, r.PostFormValue("consent"), answer == "Allow")
			switch {
			case err != nil:
				h.formError(w, r, "device", page{Title: "Connect a device"}, err)
			case answer == "Allow":
				h.render(w, r, http.StatusOK, "message", page{Title: "Done", Message: "Done: you can return to your device. " + c.Name + " can now use your account."})
			default:
				h.render(w, r, http.StatusOK, "message", page{Title: "Request denied", Message: "Request denied: " + c.Name + " was not given access. You can close this page."})
			}
			return
		}
		code := r.PostFormValue("user_code")
		dc, err := h.svc.DeviceRequest(r.Context(), actor, code)
		if err != nil {
			h.formError(w, r, "device", page{Title: "Connect a device", UserCode: clip(code)}, err)
			return
		}
		acct, err := h.svc.Account(r.Context(), actor)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.render(w, r, http.StatusOK, "consent", page{
			Title: "Authorize " + dc.Client.Name, Client: dc.Client.Name, Email: acct.Email, Action: "/device",
			Scopes: consentLines(dc.Grant.Scope, false), Shares: consentLines(dc.Grant.Scope, true), Hidden: []hidden{{"consent", dc.Handle}}, Detail: dc.Grant.Description,
		})
	default:
		h.methodNotAllowed(w, r)
	}
}
