package service_test

import (
	"testing"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/service"
)

// TestConsentHandleLastsConsentTTL: a consent page is answered up to one
// tick before ConsentTTL and not at the instant, only in the session it
// was shown in, and a device's consent page does not answer an
// authorization request.
func TestConsentHandleLastsConsentTTL(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		app := r.client("App", false)
		actor := r.sessionActor(r.browser())
		req, err := r.svc.CheckAuthorize(r.ctx, service.AuthorizeInput{ResponseType: "code", ClientID: app.ID, Scope: "read"})
		if err != nil {
			t.Fatal(err)
		}
		start := r.now()
		for _, at := range around(start.Add(service.ConsentTTL)) {
			t.Run(at.name, func(t *testing.T) {
				r := r.with(t)
				r.at(start)
				handle := r.svc.ConsentHandle(actor, req)
				r.at(at.when)
				_, info, err := r.svc.Consent(r.ctx, actor, handle, true)
				if at.inside {
					if err != nil || info == nil || info.Grant == nil {
						t.Fatalf("Consent: %+v, %v; want a grant code", info, err)
					}
					if _, err := r.redeem(app, info.Grant.Value.Reveal()); err != nil {
						t.Errorf("redeem the consent's code: %v", err)
					}
					return
				}
				wantCode(t, "Consent", err, keyhole.Invalid)
				if info != nil {
					t.Errorf("Consent granted %+v", info)
				}
			})
		}
		r.at(start)
		other := r.sessionActor(r.browser())
		_, info, err := r.svc.Consent(r.ctx, other, r.svc.ConsentHandle(actor, req), true)
		if keyhole.ErrorCode(err) != keyhole.Invalid || info != nil {
			t.Errorf("a handle answered in another session: %+v, %v; want invalid", info, err)
		}

		d, err := r.svc.StartDevice(r.ctx, auth(app), []string{"read"}, "")
		if err != nil {
			t.Fatal(err)
		}
		dc, err := r.svc.DeviceRequest(r.ctx, actor, d.UserCode)
		if err != nil {
			t.Fatal(err)
		}
		_, info, err = r.svc.Consent(r.ctx, actor, dc.Handle, true)
		if keyhole.ErrorCode(err) != keyhole.Invalid || info != nil {
			t.Errorf("a device's consent handle for a code: %+v, %v; want invalid", info, err)
		}
	})
}
