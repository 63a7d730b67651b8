package service_test

import (
	"context"
	"testing"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/keyholetest"
)

// TestRefreshRepeatNarrowerScope checks that a refresh repeated within
// the grace gets the first use's pair again only when it asks for the
// scope the first use got: a narrower or wider scope is invalid_scope,
// and changes nothing (the pair keeps working, nothing is revoked).
func TestRefreshRepeatNarrowerScope(t *testing.T) {
	for _, be := range keyholetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			f := newGrantFixture(t, be, keyholetest.Options{})
			for _, tc := range []struct {
				name          string
				first, repeat []string
				same          bool
			}{
				{"no scope, repeated", nil, nil, true},
				{"no scope, repeated naming it", nil, []string{"write", "read"}, true},
				{"no scope, repeated narrower", nil, []string{"read"}, false},
				{"narrowed, repeated the same", []string{"read"}, []string{"read"}, true},
				{"narrowed, repeated with no scope", []string{"read"}, nil, false},
				{"narrowed, repeated wider", []string{"read"}, []string{"read", "write"}, false},
				{"narrowed, repeated narrower still", []string{"read", "write"}, []string{"write"}, false},
				{"repeated beyond the token", nil, []string{"global"}, false},
			} {
				t.Run(tc.name, func(t *testing.T) {
					g := f.tokens(t, "read", "write")
					first, err := f.refresh(g.Refresh.Value.Reveal(), tc.first...)
					if err != nil {
						t.Fatal(err)
					}
					again, err := f.refresh(g.Refresh.Value.Reveal(), tc.repeat...)
					switch {
					case tc.same && err != nil:
						t.Fatalf("repeat: %v, want the same pair", err)
					case tc.same && (again.Access.Value != first.Access.Value || again.Refresh.Value != first.Refresh.Value):
						t.Errorf("repeat got another pair")
					case !tc.same && keyhole.ErrorCode(err) != keyhole.InvalidScope:
						t.Fatalf("repeat: scope %v, error %v; want invalid_scope, never the first use's %v", again.Scope, err, first.Scope)
					}
					if _, err := f.ts.Service.VerifyToken(context.Background(), first.Access.Value.Reveal()); err != nil {
						t.Errorf("the first use's access token after the repeat: %v", err)
					}
				})
			}
		})
	}
}
