//go:build linux

package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestReplicasTeams runs two `keyhole serve` replicas on one PostgreSQL:
// a grant revoked or a member removed on one replica is refused on the
// other at the very next request (memberships and grants are never
// cached), and 20 admins stepping down at once, half through each
// replica, leave exactly one admin.
func TestReplicasTeams(t *testing.T) {
	env, dbURL := deployment(t)
	bin := buildKeyhole(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	args := []string{"--database", dbURL, "--drain", "0"}
	a := startServe(t, ctx, bin, env, args...)
	b := startServe(t, ctx, bin, env, args...)
	replicas := []string{a.url, b.url}

	const n = 20
	emails := make([]string, n+2)
	for i := range emails {
		emails[i] = fmt.Sprintf("person%02d@example.com", i)
		createAccount(t, bin, env, emails[i], "--database", dbURL)
	}
	tokens := make([]string, len(emails))
	for i, e := range emails {
		st, _, login := api(t, "POST", a.url+"/oauth/authorizations", e+":"+pass, map[string]any{"scope": []string{"global"}})
		if st != 201 {
			t.Fatalf("login %s: %d %v", e, st, login)
		}
		tokens[i] = token(login)
	}
	admin, con, mem := tokens[0], tokens[n], tokens[n+1]
	must := func(st int, want int, what string, body map[string]any) {
		t.Helper()
		if st != want {
			t.Fatalf("%s: %d, want %d; %v", what, st, want, body)
		}
	}
	st, _, body := api(t, "POST", a.url+"/teams", admin, map[string]any{"name": "replicated"})
	must(st, 201, "create team", body)
	st, _, body = api(t, "POST", a.url+"/teams/apps", admin, map[string]any{"name": "replicated-app", "team": "replicated"})
	must(st, 201, "create team app", body)
	st, _, body = api(t, "PUT", a.url+"/teams/replicated/members", admin, map[string]any{"email": emails[n+1], "role": "member"})
	must(st, 200, "add member", body)
	st, _, body = api(t, "POST", a.url+"/teams/apps/replicated-app/collaborators", admin, map[string]any{"user": emails[n], "permissions": []string{"deploy"}})
	must(st, 201, "grant deploy", body)

	// The contractor reads the config vars on B, twice; A revokes the
	// grant; B refuses the very next request.
	for range 2 {
		st, _, body = api(t, "GET", b.url+"/apps/replicated-app/config-vars", con, nil)
		must(st, 200, "contractor on B", body)
	}
	st, _, body = api(t, "DELETE", a.url+"/teams/apps/replicated-app/collaborators/"+emails[n], admin, nil)
	must(st, 200, "revoke on A", body)
	st, _, body = api(t, "GET", b.url+"/apps/replicated-app/config-vars", con, nil)
	must(st, 404, "contractor on B right after the revocation", body)

	// The member sees the app on B; A removes them from the team; B
	// refuses the very next request.
	for range 2 {
		st, _, body = api(t, "GET", b.url+"/apps/replicated-app", mem, nil)
		must(st, 200, "member on B", body)
	}
	st, _, body = api(t, "DELETE", a.url+"/teams/replicated/members/"+emails[n+1], admin, nil)
	must(st, 200, "remove member on A", body)
	st, _, body = api(t, "GET", b.url+"/apps/replicated-app", mem, nil)
	must(st, 404, "removed member on B right after", body)
	st, _, body = api(t, "GET", b.url+"/teams/replicated", mem, nil)
	must(st, 404, "removed member's team on B", body)

	// 20 admins step down at the same moment, half through each replica.
	for i := 1; i < n; i++ {
		st, _, body = api(t, "PUT", a.url+"/teams/replicated/members", admin, map[string]any{"email": emails[i], "role": "admin"})
		must(st, 200, "make admin", body)
	}
	var wg sync.WaitGroup
	statuses := make([]int, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			statuses[i], _, _ = api(t, "PATCH", replicas[i%2]+"/teams/replicated/members", tokens[i], map[string]any{"email": emails[i], "role": "member"})
		}()
	}
	close(start)
	wg.Wait()
	ok, refused := 0, 0
	for _, s := range statuses {
		switch s {
		case 200:
			ok++
		case 422:
			refused++
		default:
			t.Errorf("step down: %d", s)
		}
	}
	if ok != n-1 || refused != 1 {
		t.Fatalf("%d stepped down and %d were refused, want %d and 1", ok, refused, n-1)
	}
	admins := 0
	for _, tok := range tokens[:n] {
		if st, _, team := api(t, "GET", b.url+"/teams/replicated", tok, nil); st == 200 && team["role"] == "admin" {
			admins++
		}
	}
	if admins != 1 {
		t.Errorf("%d admins left, want 1", admins)
	}
}
