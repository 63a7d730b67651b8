package service_test

import (
	"testing"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/service"
)

// TestDeviceCodeLastsDeviceCodeTTL (RFC 8628 §3.5): a device code is
// polled, and its user code entered, up to one tick before DeviceCodeTTL;
// at the instant the device is told expired_token and the person that the
// code is not valid.
func TestDeviceCodeLastsDeviceCodeTTL(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		app := r.client("App", false)
		cookie := r.browser()
		start := r.now()
		for _, at := range around(start.Add(service.DeviceCodeTTL)) {
			t.Run(at.name, func(t *testing.T) {
				r := r.with(t)
				r.at(start)
				d, err := r.svc.StartDevice(r.ctx, auth(app), []string{"read"}, "")
				if err != nil {
					t.Fatal(err)
				}
				if d.ExpiresIn != int(service.DeviceCodeTTL/time.Second) {
					t.Errorf("expires_in %d, want %d", d.ExpiresIn, int(service.DeviceCodeTTL/time.Second))
				}
				r.at(at.when)
				_, reqErr := r.svc.DeviceRequest(r.ctx, r.sessionActor(cookie), d.UserCode)
				_, pollErr := r.svc.PollDevice(r.ctx, auth(app), d.DeviceCode.Reveal())
				if at.inside {
					wantCode(t, "DeviceRequest", reqErr, "")
					wantCode(t, "PollDevice", pollErr, keyhole.AuthorizationPending)
				} else {
					wantCode(t, "DeviceRequest", reqErr, keyhole.Invalid)
					wantCode(t, "PollDevice", pollErr, keyhole.ExpiredToken)
				}
			})
		}
	})
}

// TestDevicePollingInterval (RFC 8628 §3.5): a poll sooner than the
// interval after the last one is told slow_down, and the interval grows
// by 5 seconds for it and every later poll; a poll exactly the interval
// later is answered.
func TestDevicePollingInterval(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		app := r.client("App", false)
		d, err := r.svc.StartDevice(r.ctx, auth(app), []string{"read"}, "")
		if err != nil {
			t.Fatal(err)
		}
		if d.Interval != service.DeviceInterval {
			t.Fatalf("interval %d, want %d", d.Interval, service.DeviceInterval)
		}
		interval := time.Duration(d.Interval) * time.Second
		poll := func(after time.Duration, want string) {
			t.Helper()
			r.clk.Add(after)
			_, err := r.svc.PollDevice(r.ctx, auth(app), d.DeviceCode.Reveal())
			wantCode(t, "a poll "+after.String()+" after the last", err, want)
		}
		poll(0, keyhole.AuthorizationPending)
		poll(interval-tick, keyhole.SlowDown)                       // 5 s: now 10
		poll(interval, keyhole.SlowDown)                            // 10 s: now 15
		poll(interval+10*time.Second, keyhole.AuthorizationPending) // 15 s
		poll(interval+10*time.Second-tick, keyhole.SlowDown)        // 15 s: now 20
		poll(interval+15*time.Second, keyhole.AuthorizationPending) // 20 s

		// The device's own client only, authenticated.
		other := r.client("Other", false)
		_, err = r.svc.PollDevice(r.ctx, auth(other), d.DeviceCode.Reveal())
		wantCode(t, "another client's poll", err, keyhole.InvalidGrant)
		_, err = r.svc.PollDevice(r.ctx, service.ClientAuth{ID: app.ID, Secret: "khs_wrong"}, d.DeviceCode.Reveal())
		wantCode(t, "a poll with a wrong secret", err, keyhole.InvalidClient)
	})
}
