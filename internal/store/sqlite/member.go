package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

// memberCols reads a membership (m) with its account (a).
const memberCols = `m.id, m.team_id, m.account_id, m.role, m.created_at, m.updated_at, a.email, a.name, a.mfa_enabled`

const memberFrom = ` FROM team_members m JOIN accounts a ON a.id = m.account_id`

func scanMember(row interface{ Scan(...any) error }) (keyhole.Member, error) {
	var m keyhole.Member
	var created, updated int64
	if err := row.Scan(&m.ID, &m.TeamID, &m.AccountID, &m.Role, &created, &updated, &m.Email, &m.Name, &m.MFAEnabled); err != nil {
		return keyhole.Member{}, mapErr(err)
	}
	m.CreatedAt, m.UpdatedAt = fromMicros(created), fromMicros(updated)
	return m, nil
}

func insertMember(ctx context.Context, tx queryer, m keyhole.Member) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO team_members (id, team_id, account_id, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
		m.ID, m.TeamID, m.AccountID, string(m.Role), micros(m.CreatedAt), micros(m.UpdatedAt))
	return mapErr(err)
}

func member(ctx context.Context, q queryer, teamID, accountID string) (keyhole.Member, error) {
	return scanMember(q.QueryRowContext(ctx, `SELECT `+memberCols+memberFrom+` WHERE m.team_id = ? AND m.account_id = ?`, teamID, accountID))
}

// Members returns the team's members, by email (case-insensitively).
func (s *DB) Members(ctx context.Context, teamID string) ([]keyhole.Member, error) {
	rows, err := s.run.QueryContext(ctx, `SELECT `+memberCols+memberFrom+` WHERE m.team_id = ? ORDER BY lower(a.email), a.email, m.id`, teamID)
	if err != nil {
		return nil, mapErr(err)
	}
	return collect(rows, scanMember)
}

// Member returns the account's membership of the team.
func (s *DB) Member(ctx context.Context, teamID, accountID string) (keyhole.Member, error) {
	return member(ctx, s.run, teamID, accountID)
}

// AddMember inserts m.
func (s *DB) AddMember(ctx context.Context, m keyhole.Member, ev ...keyhole.Event) error {
	return s.tx(ctx, func(tx queryer) error {
		if err := insertMember(ctx, tx, m); err != nil {
			return err
		}
		return insertEvents(ctx, tx, ev)
	})
}

// keepAdmin fails with ErrLastAdmin when m is its team's only admin.
// Write transactions run one at a time, so the count holds until commit.
func keepAdmin(ctx context.Context, tx queryer, m keyhole.Member) error {
	if m.Role != keyhole.RoleAdmin {
		return nil
	}
	var admins int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM team_members WHERE team_id = ? AND role = ?`, m.TeamID, string(keyhole.RoleAdmin)).Scan(&admins); err != nil {
		return mapErr(err)
	}
	if admins <= 1 {
		return fmt.Errorf("%w: %s", store.ErrLastAdmin, m.Email)
	}
	return nil
}

// SetMemberRole changes the role of one membership; the team keeps an admin.
func (s *DB) SetMemberRole(ctx context.Context, teamID, accountID string, role keyhole.TeamRole, at time.Time, ev ...keyhole.Event) (keyhole.Member, error) {
	var out keyhole.Member
	err := s.tx(ctx, func(tx queryer) error {
		m, err := member(ctx, tx, teamID, accountID)
		if err != nil {
			return err
		}
		if role != keyhole.RoleAdmin {
			if err := keepAdmin(ctx, tx, m); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE team_members SET role = ?, updated_at = ? WHERE id = ?`, string(role), micros(at), m.ID); err != nil {
			return mapErr(err)
		}
		if m.Role == keyhole.RoleAdmin && role != keyhole.RoleAdmin {
			if err := dropInvitations(ctx, tx, teamID, accountID); err != nil {
				return err
			}
		}
		m.Role, m.UpdatedAt = role, fromMicros(micros(at))
		out = m
		return insertEvents(ctx, tx, ev)
	})
	return out, err
}

// RemoveMember deletes one membership with the account's grants on the
// team's apps; the team keeps an admin.
func (s *DB) RemoveMember(ctx context.Context, teamID, accountID string, ev ...keyhole.Event) (keyhole.Member, error) {
	var out keyhole.Member
	err := s.tx(ctx, func(tx queryer) error {
		m, err := member(ctx, tx, teamID, accountID)
		if err != nil {
			return err
		}
		if err := keepAdmin(ctx, tx, m); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM team_members WHERE id = ?`, m.ID); err != nil {
			return mapErr(err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM app_collaborators WHERE account_id = ? AND app_id IN (SELECT id FROM apps WHERE team_id = ?)`,
			accountID, teamID); err != nil {
			return mapErr(err)
		}
		if err := dropInvitations(ctx, tx, teamID, accountID); err != nil {
			return err
		}
		out = m
		return insertEvents(ctx, tx, ev)
	})
	return out, err
}

// dropInvitations deletes the invitations the account sent into the
// team: they end when their sender stops being its admin.
func dropInvitations(ctx context.Context, tx queryer, teamID, accountID string) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM team_invitations WHERE team_id = ? AND invited_by = ?`, teamID, accountID)
	return mapErr(err)
}

const invitationCols = `id, team_id, email, role, invited_by, hash, created_at, updated_at, expires_at`

func scanInvitation(row interface{ Scan(...any) error }) (keyhole.Invitation, error) {
	var inv keyhole.Invitation
	var created, updated, expires int64
	if err := row.Scan(&inv.ID, &inv.TeamID, &inv.Email, &inv.Role, &inv.InvitedBy, &inv.Hash, &created, &updated, &expires); err != nil {
		return keyhole.Invitation{}, mapErr(err)
	}
	inv.CreatedAt, inv.UpdatedAt, inv.ExpiresAt = fromMicros(created), fromMicros(updated), fromMicros(expires)
	return inv, nil
}

// PutInvitation inserts inv, or replaces the team's invitation of the
// same email (by the unique index on lower(email)), keeping its id,
// email and CreatedAt.
func (s *DB) PutInvitation(ctx context.Context, inv keyhole.Invitation, ev ...keyhole.Event) (keyhole.Invitation, error) {
	var out keyhole.Invitation
	err := s.tx(ctx, func(tx queryer) error {
		var err error
		out, err = scanInvitation(tx.QueryRowContext(ctx, `INSERT INTO team_invitations (`+invitationCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (team_id, lower(email)) DO UPDATE SET role = excluded.role, invited_by = excluded.invited_by,
				hash = excluded.hash, updated_at = excluded.updated_at, expires_at = excluded.expires_at
			RETURNING `+invitationCols,
			inv.ID, inv.TeamID, inv.Email, string(inv.Role), inv.InvitedBy, inv.Hash, micros(inv.CreatedAt), micros(inv.UpdatedAt), micros(inv.ExpiresAt)))
		if err != nil {
			return err
		}
		return insertEvents(ctx, tx, ev)
	})
	return out, err
}

// Invitations returns the team's invitations, by email (case-insensitively).
func (s *DB) Invitations(ctx context.Context, teamID string) ([]keyhole.Invitation, error) {
	rows, err := s.run.QueryContext(ctx, `SELECT `+invitationCols+` FROM team_invitations WHERE team_id = ? ORDER BY lower(email), email, id`, teamID)
	if err != nil {
		return nil, mapErr(err)
	}
	return collect(rows, scanInvitation)
}

// InvitationByHash returns the invitation with the hash.
func (s *DB) InvitationByHash(ctx context.Context, hash string) (keyhole.Invitation, error) {
	return scanInvitation(s.run.QueryRowContext(ctx, `SELECT `+invitationCols+` FROM team_invitations WHERE hash = ?`, hash))
}

// DeleteInvitation deletes the team's invitation of the email.
func (s *DB) DeleteInvitation(ctx context.Context, teamID, email string, ev ...keyhole.Event) (keyhole.Invitation, error) {
	var out keyhole.Invitation
	err := s.tx(ctx, func(tx queryer) error {
		var err error
		out, err = scanInvitation(tx.QueryRowContext(ctx, `DELETE FROM team_invitations WHERE team_id = ? AND lower(email) = lower(?) RETURNING `+invitationCols,
			teamID, email))
		if err != nil {
			return err
		}
		return insertEvents(ctx, tx, ev)
	})
	return out, err
}

// AcceptInvitation uses a live invitation of m's team and inserts m, in
// one transaction: the first caller deletes the row, and those after it
// find none.
func (s *DB) AcceptInvitation(ctx context.Context, hash string, at time.Time, m keyhole.Member, ev ...keyhole.Event) error {
	return s.tx(ctx, func(tx queryer) error {
		if err := execOne(ctx, tx, `DELETE FROM team_invitations WHERE hash = ? AND team_id = ? AND expires_at > ?`, hash, m.TeamID, micros(at)); err != nil {
			return err
		}
		if err := insertMember(ctx, tx, m); err != nil {
			return err
		}
		return insertEvents(ctx, tx, ev)
	})
}

// DeleteExpiredInvitations deletes up to limit invitations expired at before.
func (s *DB) DeleteExpiredInvitations(ctx context.Context, before time.Time, limit int) (int64, error) {
	return s.deleteBatch(ctx, `DELETE FROM team_invitations WHERE id IN (SELECT id FROM team_invitations WHERE expires_at <= ? LIMIT ?)`, micros(before), limit)
}
