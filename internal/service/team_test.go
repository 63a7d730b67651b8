package service_test

import (
	"fmt"
	"testing"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/service"
)

// invite has ada invite the address into team (made if need be) and
// returns the link's token.
func (r *rig) invite(team, email string) string {
	r.t.Helper()
	if _, err := r.svc.Team(r.ctx, r.actor, team); err != nil {
		if _, err := r.svc.CreateTeam(r.ctx, r.actor, team); err != nil {
			r.t.Fatal(err)
		}
	}
	if _, err := r.svc.Invite(r.ctx, r.actor, team, email, "member"); err != nil {
		r.t.Fatal(err)
	}
	return linkToken(r.t, r.ts.Mail().Take(r.t, email, "invited to join the team "+team), service.InvitationPath)
}

// TestInvitationLastsInvitationTTL: an invitation is accepted up to one
// tick before InvitationTTL and not at the instant; a used one is not
// accepted again.
func TestInvitationLastsInvitationTTL(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		start := r.now()
		for i, at := range around(start.Add(service.InvitationTTL)) {
			t.Run(at.name, func(t *testing.T) {
				r := r.with(t)
				r.at(start)
				email := fmt.Sprintf("guest%d@example.com", i)
				tok := r.invite(fmt.Sprintf("ttl-team-%d", i), email)
				r.ts.CreateAccount(t, email, password)
				guest := signIn(t, r.ts, email, password)
				r.at(at.when)
				_, err := r.svc.AcceptInvitation(r.ctx, guest, tok)
				if at.inside {
					wantCode(t, "AcceptInvitation", err, "")
					_, err = r.svc.AcceptInvitation(r.ctx, guest, tok)
					wantCode(t, "AcceptInvitation of the used link", err, keyhole.NotFound)
				} else {
					wantCode(t, "AcceptInvitation", err, keyhole.NotFound)
				}
			})
		}
	})
}

// TestInvitationLinksEnd: what ends an invitation link — a newer
// invitation of the address, a revocation, the team's deletion — and the
// other account that holds the link, which cannot use it.
func TestInvitationLinksEnd(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		r.ts.CreateAccount(t, "guest@example.com", password)
		r.ts.CreateAccount(t, "eve@example.com", password)
		guest := signIn(t, r.ts, "guest@example.com", password)
		eve := signIn(t, r.ts, "eve@example.com", password)

		old := r.invite("ends", "guest@example.com")
		newer := r.invite("ends", "guest@example.com")
		_, err := r.svc.AcceptInvitation(r.ctx, guest, old)
		wantCode(t, "the replaced link", err, keyhole.NotFound)
		_, err = r.svc.AcceptInvitation(r.ctx, eve, newer)
		wantCode(t, "another account's use of the link", err, keyhole.Forbidden)

		if _, err := r.svc.RevokeInvitation(r.ctx, r.actor, "ends", "GUEST@example.com"); err != nil {
			t.Fatal(err)
		}
		_, err = r.svc.AcceptInvitation(r.ctx, guest, newer)
		wantCode(t, "the revoked link", err, keyhole.NotFound)

		doomed := r.invite("doomed", "guest@example.com")
		if _, err := r.svc.DeleteTeam(r.ctx, r.actor, "doomed"); err != nil {
			t.Fatal(err)
		}
		_, err = r.svc.AcceptInvitation(r.ctx, guest, doomed)
		wantCode(t, "the deleted team's link", err, keyhole.NotFound)
		_, err = r.svc.Invitation(r.ctx, "khi_not-a-real-token", service.Origin{IP: "192.0.2.9"})
		wantCode(t, "a made-up link", err, keyhole.NotFound)
		_, err = r.svc.Invitation(r.ctx, "", service.Origin{IP: "192.0.2.9"})
		wantCode(t, "an empty link", err, keyhole.NotFound)
	})
}

// TestConcurrentTeamChanges: the check-then-act rules of teams under 20
// parallel callers: one invitation accepted once, one person added once,
// one grant made once, one team name taken once.
func TestConcurrentTeamChanges(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		r.ts.CreateAccount(t, "guest@example.com", password)
		guest := signIn(t, r.ts, "guest@example.com", password)
		tok := r.invite("crowd", "guest@example.com")
		count := func(what string, errs []error, code string) {
			t.Helper()
			ok := 0
			for _, err := range errs {
				switch {
				case err == nil:
					ok++
				case keyhole.ErrorCode(err) != code:
					t.Errorf("%s: %v, want %s", what, err, code)
				}
			}
			if ok != 1 {
				t.Errorf("%s: %d of 20 succeeded, want exactly 1", what, ok)
			}
		}
		count("accept", keyholetest.Parallel(20, func(int) error {
			_, err := r.svc.AcceptInvitation(r.ctx, guest, tok)
			return err
		}), keyhole.NotFound)

		r.ts.CreateAccount(t, "bob@example.com", password)
		count("add", keyholetest.Parallel(20, func(int) error {
			_, err := r.svc.PutMember(r.ctx, r.actor, "crowd", "bob@example.com", "member", service.MemberCreate)
			return err
		}), keyhole.Conflict)

		app := "crowd-app"
		if _, err := r.svc.CreateApp(r.ctx, r.actor, service.AppParams{Name: &app, Team: ptr("crowd")}); err != nil {
			t.Fatal(err)
		}
		count("grant", keyholetest.Parallel(20, func(int) error {
			_, err := r.svc.AddCollaborator(r.ctx, r.actor, app, "guest@example.com", []string{"deploy"})
			return err
		}), keyhole.Conflict)

		count("create team", keyholetest.Parallel(20, func(int) error {
			_, err := r.svc.CreateTeam(r.ctx, r.actor, "one-name")
			return err
		}), keyhole.Conflict)
	})
}

// TestInvitationThrottles: invitation mails are counted per address
// invited (5 an hour), and links that name nothing per address of the
// caller (30 a minute), reserved before the database is read.
func TestInvitationThrottles(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		if _, err := r.svc.CreateTeam(r.ctx, r.actor, "mailer"); err != nil {
			t.Fatal(err)
		}
		for i := range 6 {
			_, err := r.svc.Invite(r.ctx, r.actor, "mailer", "flooded@example.com", "member")
			if i < 5 {
				wantCode(t, fmt.Sprintf("invitation %d", i+1), err, "")
			} else {
				wantCode(t, "the sixth invitation within the hour", err, keyhole.RateLimited)
			}
		}
		_, err := r.svc.Invite(r.ctx, r.actor, "mailer", "somebody-else@example.com", "member")
		wantCode(t, "an invitation of another address", err, "")

		o := service.Origin{IP: "198.51.100.4"}
		for i := range 31 {
			_, err := r.svc.Invitation(r.ctx, fmt.Sprintf("khi_%040d", i), o)
			if i < 30 {
				wantCode(t, "an unknown link", err, keyhole.NotFound)
			} else {
				wantCode(t, "the 31st unknown link within the minute", err, keyhole.RateLimited)
			}
		}
		_, err = r.svc.Invitation(r.ctx, "khi_x", service.Origin{IP: "198.51.100.5"})
		wantCode(t, "an unknown link from another address", err, keyhole.NotFound)
	})
}
