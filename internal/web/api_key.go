package web

import "net/http"

// apiKey is what the API key page shows.
type apiKey struct {
	// Key is the key in clear, once revealed; "" while hidden.
	Key string
	// Fresh: the password was entered again in this session lately, so
	// Reveal asks for nothing more.
	Fresh bool
}

// apiKeyPage is /dashboard/api-key: the key hidden, Reveal and Regenerate.
func (h *Web) apiKeyPage(w http.ResponseWriter, r *http.Request, m me) {
	h.show(w, r, m, http.StatusOK, "api_key", "api-key", page{Title: "API key", Data: apiKey{Fresh: h.svc.Reauthenticated(m.sess)}})
}

// apiKeyReveal shows the key, after the password (re-entered in this
// session within five minutes).
func (h *Web) apiKeyReveal(w http.ResponseWriter, r *http.Request, m me) {
	key, err := h.svc.RevealAPIKey(r.Context(), m.actor, r.PostFormValue("password"))
	if err != nil {
		h.showError(w, r, m, "api_key", "api-key", page{Title: "API key", Data: apiKey{Fresh: h.svc.Reauthenticated(m.sess)}}, err)
		return
	}
	h.show(w, r, m, http.StatusOK, "api_key", "api-key", page{Title: "API key", Data: apiKey{Key: key.Reveal(), Fresh: true}})
}

// apiKeyRegenerate replaces the key, confirmed with the password; the old
// key stops working at once and the new one is shown.
func (h *Web) apiKeyRegenerate(w http.ResponseWriter, r *http.Request, m me) {
	key, err := h.svc.RegenerateAPIKey(r.Context(), m.actor, r.PostFormValue("password"))
	if err != nil {
		h.showError(w, r, m, "api_key", "api-key", page{Title: "API key", Data: apiKey{Fresh: h.svc.Reauthenticated(m.sess)}}, err)
		return
	}
	h.show(w, r, m, http.StatusOK, "api_key", "api-key", page{Title: "API key",
		Notice: "Your API key was regenerated: the old one no longer works.", Data: apiKey{Key: key.Reveal(), Fresh: true}})
}
