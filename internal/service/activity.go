package service

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

// ActivityRetention is how long the activity log keeps an event.
const ActivityRetention = 365 * 24 * time.Hour

// Origin is where a request comes from, as the activity log records it.
type Origin struct {
	IP, UserAgent string
}

// origin is where the actor's request comes from.
func (a Actor) origin() Origin { return Origin{IP: a.IP, UserAgent: a.UserAgent} }

// event makes an activity event of the account, now, from o. Its id is a
// UUIDv7, so that the log sorts by id as the events happened.
func (s *Service) event(accountID string, typ keyhole.EventType, o Origin, subject, detail string) keyhole.Event {
	id, err := uuid.NewV7()
	if err != nil {
		id = uuid.New()
	}
	return keyhole.Event{
		ID: id.String(), AccountID: accountID, Type: typ, IP: clipText(o.IP, 64), UserAgent: clipText(o.UserAgent, 255),
		Subject: subject, Detail: clipText(detail, 255), CreatedAt: s.clock(),
	}
}

// record writes events that go with no other change (a failed sign-in, a
// revealed secret). A failure is logged, not returned: the action it
// records has happened, or was refused, either way.
func (s *Service) record(ctx context.Context, ev ...keyhole.Event) {
	if err := s.store.Record(ctx, ev...); err != nil {
		s.log.ErrorContext(ctx, "record activity", "err", err)
	}
}

// Activity lists the actor's account's events, one page of r (ordered by
// id, which is by time; Desc for newest first).
func (s *Service) Activity(ctx context.Context, actor Actor, r store.Range) ([]keyhole.Event, error) {
	if err := actor.NeedAccount(); err != nil {
		return nil, err
	}
	ev, err := s.store.Events(ctx, actor.AccountID, r)
	if err != nil {
		return nil, storeErr(err, "event")
	}
	return ev, nil
}
