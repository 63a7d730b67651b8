package service_test

import (
	"testing"
	"time"

	"github.com/keyhole/keyhole/internal/service"
	"github.com/keyhole/keyhole/internal/store"
)

// TestLastUseWrittenOnceAMinute: the last use the dashboard shows of an
// authorization, and of the CLI login session its token was issued
// through, is written at the first use and then once a minute at most:
// not one tick before the minute, and at its instant.
func TestLastUseWrittenOnceAMinute(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		start := r.now()
		login, err := r.svc.Login(r.ctx, service.LoginRequest{Email: "ada@example.com", Password: password, IP: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		tok := login.Access.Value.Reveal()
		lastUse := func() (auth, sess time.Time) {
			t.Helper()
			info, err := r.svc.Authorization(r.ctx, r.actor, login.ID)
			if err != nil {
				t.Fatal(err)
			}
			list, err := r.svc.Sessions(r.ctx, r.actor, store.Range{})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range list {
				if s.ID == login.SessionID {
					sess = s.LastSeenAt
				}
			}
			return info.LastUsedAt, sess
		}
		if a, _ := lastUse(); !a.IsZero() {
			t.Errorf("before any use: last used %v, want never", a)
		}
		for _, step := range []struct {
			at, want time.Time
		}{
			{start, start},
			{start.Add(time.Minute - tick), start},
			{start.Add(time.Minute), start.Add(time.Minute)},
		} {
			r.at(step.at)
			r.verify(tok)
			a, s := lastUse()
			if !a.Equal(step.want) || !s.Equal(step.want) {
				t.Errorf("used at %v: the authorization shows %v and its session %v, want %v", step.at, a, s, step.want)
			}
		}
	})
}
