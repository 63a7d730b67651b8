package postgres_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
)

// tagWatcher hands the tags WatchChanges reports to a channel.
type tagWatcher struct {
	tags chan string
	live chan bool
}

func (w tagWatcher) Invalidate(tags ...string) {
	for _, t := range tags {
		w.tags <- t
	}
}
func (w tagWatcher) SetLive(live bool) { w.live <- live }
func (w tagWatcher) Alive()            {}

// TestTouchAuthorizationNotifiesNoReplica checks that stamping an
// authorization's last use announces nothing to the other replicas'
// caches, while every other change of it still does: the touch is
// committed before a change of another authorization, and notifications
// arrive in commit order, so the touch's would come first.
func TestTouchAuthorizationNotifiesNoReplica(t *testing.T) {
	db := open(t, schemaURL(t))
	newAccount(t, db, "a1", "ada@example.com")
	newAccount(t, db, "a2", "bob@example.com")
	w := tagWatcher{tags: make(chan string, 100), live: make(chan bool, 10)}
	watch, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { db.WatchChanges(watch, w, slog.New(slog.DiscardHandler)); close(done) }()
	t.Cleanup(func() { stop(); <-done })
	if !<-w.live {
		t.Fatal("the watch did not start")
	}
	// until reads tags up to want and returns those that came before it.
	until := func(want string) []string {
		t.Helper()
		var before []string
		deadline := time.After(10 * time.Second)
		for {
			select {
			case tag := <-w.tags:
				if tag == want {
					return before
				}
				before = append(before, tag)
			case <-deadline:
				t.Fatalf("no notification %s (got %v)", want, before)
			}
		}
	}

	at := t0.Add(time.Hour)
	if err := db.TouchAuthorization(ctx, "key-a1", at, time.Minute); err != nil {
		t.Fatal(err)
	}
	if a, err := db.Authorization(ctx, "key-a1"); err != nil || !a.LastUsedAt.Equal(at) {
		t.Fatalf("LastUsedAt = %v, %v; want %v", a.LastUsedAt, err, at)
	}
	rename := func(id string) {
		t.Helper()
		if _, err := db.UpdateAuthorization(ctx, id, func(a *keyhole.Authorization) error { a.Description = "renamed"; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	rename("key-a2")
	if before := until("auth:key-a2"); len(before) != 0 {
		t.Errorf("notifications before the marker: %v, want none (the touch announced itself)", before)
	}
	rename("key-a1")
	until("auth:key-a1")
	if err := db.DeleteAuthorization(ctx, "key-a1"); err != nil {
		t.Fatal(err)
	}
	until("auth:key-a1")
}
