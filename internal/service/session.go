package service

import (
	"context"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

// SessionTTL is how long a login session lasts.
const SessionTTL = 30 * 24 * time.Hour

// Sessions lists the actor's live login sessions, one page of r.
func (s *Service) Sessions(ctx context.Context, actor Actor, r store.Range) ([]keyhole.Session, error) {
	if actor.AccountID == "" {
		return []keyhole.Session{}, nil
	}
	list, err := s.store.ListSessions(ctx, actor.AccountID, r)
	if err != nil {
		return nil, storeErr(err, "session")
	}
	now := s.clock()
	live := list[:0]
	for _, ss := range list {
		if ss.ExpiresAt.After(now) {
			live = append(live, ss)
		}
	}
	return live, nil
}

// DeleteSession logs a session out: it deletes the session and every
// authorization made through it, with their tokens, and returns the session
// as it was. "~" names the session the actor's token was issued through.
func (s *Service) DeleteSession(ctx context.Context, actor Actor, id string) (keyhole.Session, error) {
	if id == "~" {
		id = actor.Authorization.SessionID
	}
	if actor.AccountID == "" || !validID(id) {
		return keyhole.Session{}, keyhole.NotFoundError("session")
	}
	ss, err := s.store.Session(ctx, id)
	if err != nil {
		return keyhole.Session{}, storeErr(err, "session")
	}
	if ss.AccountID != actor.AccountID {
		return keyhole.Session{}, keyhole.NotFoundError("session")
	}
	if err := s.store.DeleteSession(ctx, ss.ID); err != nil {
		return keyhole.Session{}, storeErr(err, "session")
	}
	s.log.InfoContext(ctx, "session deleted", "account_id", actor.AccountID, "session_id", ss.ID)
	return ss, nil
}
