package api

import (
	"net/http"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/service"
)

// accountJSON is the account resource (schema definition "account").
type accountJSON struct {
	AllowTracking           bool      `json:"allow_tracking"`
	Beta                    bool      `json:"beta"`
	CreatedAt               string    `json:"created_at"`
	Email                   string    `json:"email"`
	Federated               bool      `json:"federated"`
	ID                      string    `json:"id"`
	IdentityProvider        *struct{} `json:"identity_provider"`
	LastLogin               *string   `json:"last_login"`
	Name                    *string   `json:"name"`
	SMSNumber               *string   `json:"sms_number"`
	SuspendedAt             *string   `json:"suspended_at"`
	DelinquentAt            *string   `json:"delinquent_at"`
	TwoFactorAuthentication bool      `json:"two_factor_authentication"`
	UpdatedAt               string    `json:"updated_at"`
	Verified                bool      `json:"verified"`
	CountryOfResidence      *string   `json:"country_of_residence"`
	DefaultOrganization     *struct{} `json:"default_organization"`
	DefaultTeam             *struct{} `json:"default_team"`
}

func newAccountJSON(a keyhole.Account) accountJSON {
	return accountJSON{
		AllowTracking: false, CreatedAt: timeJSON(a.CreatedAt), Email: a.Email, ID: a.ID,
		LastLogin: timeOrNull(a.LastLogin), Name: stringOrNull(a.Name),
		TwoFactorAuthentication: a.MFAEnabled, UpdatedAt: timeJSON(a.UpdatedAt), Verified: a.EmailVerified,
	}
}

func stringOrNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (a *API) accountInfo() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		acct, err := a.svc.Account(r.Context(), actorFrom(r.Context()))
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusOK, newAccountJSON(acct))
	})
}

func (a *API) accountUpdate() http.Handler {
	type request struct {
		Name        *string `json:"name"`
		Email       *string `json:"email"`
		NewPassword *string `json:"new_password"`
		Password    string  `json:"password"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req); err != nil {
			a.error(w, r, err)
			return
		}
		acct, err := a.svc.UpdateAccount(r.Context(), actorFrom(r.Context()), service.AccountUpdate{
			Name: req.Name, Email: req.Email, NewPassword: req.NewPassword, CurrentPassword: req.Password,
		})
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusOK, newAccountJSON(acct))
	})
}

func (a *API) rateLimits() http.Handler {
	type response struct {
		Remaining int `json:"remaining"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor := actorFrom(r.Context())
		if err := actor.NeedAccount(); err != nil {
			a.error(w, r, err)
			return
		}
		remaining := 0
		if a.limiter != nil {
			var err error
			if remaining, err = a.limiter.Remaining(r.Context(), actorRateKey(actor)); err != nil {
				a.error(w, r, &keyhole.Error{Code: keyhole.Unavailable, Message: "The rate limit cannot be read right now.", RetryAfter: time.Second, Err: err})
				return
			}
		}
		a.respond(w, r, http.StatusOK, response{Remaining: remaining})
	})
}
