package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

// memberCols reads a membership (m) with its account (a).
const memberCols = `m.id, m.team_id, m.account_id, m.role, m.created_at, m.updated_at, a.email, a.name, a.mfa_enabled`

const memberFrom = ` FROM team_members m JOIN accounts a ON a.id = m.account_id`

func scanMember(row pgx.Row) (keyhole.Member, error) {
	var m keyhole.Member
	if err := row.Scan(&m.ID, &m.TeamID, &m.AccountID, &m.Role, &m.CreatedAt, &m.UpdatedAt, &m.Email, &m.Name, &m.MFAEnabled); err != nil {
		return keyhole.Member{}, err
	}
	m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
	return m, nil
}

func queueMember(b *pgx.Batch, m keyhole.Member) {
	b.Queue(`INSERT INTO team_members (id, team_id, account_id, role, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		m.ID, m.TeamID, m.AccountID, string(m.Role), m.CreatedAt, m.UpdatedAt)
}

func member(ctx context.Context, q querier, op, teamID, accountID string) (keyhole.Member, error) {
	m, err := scanMember(q.QueryRow(ctx, `SELECT `+memberCols+memberFrom+` WHERE m.team_id = $1 AND m.account_id = $2`, teamID, accountID))
	return m, mapErr(op, err)
}

// Members returns the team's members, by email (case-insensitively, then in byte order).
func (db *DB) Members(ctx context.Context, teamID string) ([]keyhole.Member, error) {
	return list(ctx, db.pool, "members", `SELECT `+memberCols+memberFrom+` WHERE m.team_id = $1 ORDER BY lower(a.email) COLLATE "C", a.email COLLATE "C", m.id`,
		[]any{teamID}, scanMember)
}

// Member returns the account's membership of the team.
func (db *DB) Member(ctx context.Context, teamID, accountID string) (keyhole.Member, error) {
	return member(ctx, db.pool, "member", teamID, accountID)
}

// AddMember inserts m; the unique (team, account) key makes one of
// concurrent additions of one account win.
func (db *DB) AddMember(ctx context.Context, m keyhole.Member, ev ...keyhole.Event) error {
	const op = "add member"
	return db.tx(ctx, op, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		queueMember(b, m)
		queueEvents(b, ev)
		return sendBatch(ctx, tx, op, b)
	})
}

// lockMember locks the team (lockTeam) and reads the account's
// membership: under the lock, what it and keepAdmin read holds until the
// transaction ends.
func lockMember(ctx context.Context, tx pgx.Tx, op, teamID, accountID string) (keyhole.Member, error) {
	if err := lockTeam(ctx, tx, op, teamID); err != nil {
		return keyhole.Member{}, err
	}
	return member(ctx, tx, op, teamID, accountID)
}

// keepAdmin fails with ErrLastAdmin when m is its team's only admin.
func keepAdmin(ctx context.Context, tx pgx.Tx, op string, m keyhole.Member) error {
	if m.Role != keyhole.RoleAdmin {
		return nil
	}
	var admins int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM team_members WHERE team_id = $1 AND role = $2`, m.TeamID, string(keyhole.RoleAdmin)).Scan(&admins); err != nil {
		return mapErr(op, err)
	}
	if admins <= 1 {
		return fmt.Errorf("postgres: %s: %w: %s", op, store.ErrLastAdmin, m.Email)
	}
	return nil
}

// SetMemberRole changes the role of one membership under the team's lock;
// the team keeps an admin.
func (db *DB) SetMemberRole(ctx context.Context, teamID, accountID string, role keyhole.TeamRole, at time.Time, ev ...keyhole.Event) (keyhole.Member, error) {
	const op = "set member role"
	var out keyhole.Member
	err := db.tx(ctx, op, func(tx pgx.Tx) error {
		m, err := lockMember(ctx, tx, op, teamID, accountID)
		if err != nil {
			return err
		}
		if role != keyhole.RoleAdmin {
			if err := keepAdmin(ctx, tx, op, m); err != nil {
				return err
			}
		}
		b := &pgx.Batch{}
		b.Queue(`UPDATE team_members SET role = $2, updated_at = $3 WHERE id = $1`, m.ID, string(role), at)
		if m.Role == keyhole.RoleAdmin && role != keyhole.RoleAdmin {
			// The invitations they sent end with their admin role.
			b.Queue(`DELETE FROM team_invitations WHERE team_id = $1 AND invited_by = $2`, teamID, accountID)
		}
		queueEvents(b, ev)
		if err := sendBatch(ctx, tx, op, b); err != nil {
			return err
		}
		m.Role, m.UpdatedAt = role, at.UTC().Truncate(time.Microsecond)
		out = m
		return nil
	})
	return out, err
}

// RemoveMember deletes one membership with the account's grants on the
// team's apps, under the team's lock; the team keeps an admin.
func (db *DB) RemoveMember(ctx context.Context, teamID, accountID string, ev ...keyhole.Event) (keyhole.Member, error) {
	const op = "remove member"
	var out keyhole.Member
	err := db.tx(ctx, op, func(tx pgx.Tx) error {
		m, err := lockMember(ctx, tx, op, teamID, accountID)
		if err != nil {
			return err
		}
		if err := keepAdmin(ctx, tx, op, m); err != nil {
			return err
		}
		b := &pgx.Batch{}
		b.Queue(`DELETE FROM team_members WHERE id = $1`, m.ID)
		b.Queue(`DELETE FROM app_collaborators c USING apps p WHERE p.id = c.app_id AND p.team_id = $1 AND c.account_id = $2`, teamID, accountID)
		b.Queue(`DELETE FROM team_invitations WHERE team_id = $1 AND invited_by = $2`, teamID, accountID)
		queueEvents(b, ev)
		if err := sendBatch(ctx, tx, op, b); err != nil {
			return err
		}
		out = m
		return nil
	})
	return out, err
}

const invitationCols = `id, team_id, email, role, invited_by, hash, created_at, updated_at, expires_at`

func scanInvitation(row pgx.Row) (keyhole.Invitation, error) {
	var inv keyhole.Invitation
	if err := row.Scan(&inv.ID, &inv.TeamID, &inv.Email, &inv.Role, &inv.InvitedBy, &inv.Hash, &inv.CreatedAt, &inv.UpdatedAt, &inv.ExpiresAt); err != nil {
		return keyhole.Invitation{}, err
	}
	inv.CreatedAt, inv.UpdatedAt, inv.ExpiresAt = inv.CreatedAt.UTC(), inv.UpdatedAt.UTC(), inv.ExpiresAt.UTC()
	return inv, nil
}

// PutInvitation inserts inv, or replaces the team's invitation of the
// same email (by the unique index on lower(email)), keeping its id,
// email and CreatedAt, in one statement.
func (db *DB) PutInvitation(ctx context.Context, inv keyhole.Invitation, ev ...keyhole.Event) (keyhole.Invitation, error) {
	const op = "put invitation"
	var out keyhole.Invitation
	err := db.tx(ctx, op, func(tx pgx.Tx) error {
		var err error
		out, err = scanInvitation(tx.QueryRow(ctx, `INSERT INTO team_invitations (`+invitationCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (team_id, lower(email)) DO UPDATE SET role = excluded.role, invited_by = excluded.invited_by,
				hash = excluded.hash, updated_at = excluded.updated_at, expires_at = excluded.expires_at
			RETURNING `+invitationCols,
			inv.ID, inv.TeamID, inv.Email, string(inv.Role), inv.InvitedBy, inv.Hash, inv.CreatedAt, inv.UpdatedAt, inv.ExpiresAt))
		if err != nil {
			return mapErr(op, err)
		}
		return insertEvents(ctx, tx, op, ev)
	})
	return out, err
}

// Invitations returns the team's invitations, by email (case-insensitively, then in byte order).
func (db *DB) Invitations(ctx context.Context, teamID string) ([]keyhole.Invitation, error) {
	return list(ctx, db.pool, "invitations", `SELECT `+invitationCols+` FROM team_invitations WHERE team_id = $1 ORDER BY lower(email) COLLATE "C", email COLLATE "C", id`,
		[]any{teamID}, scanInvitation)
}

// InvitationByHash returns the invitation with the hash.
func (db *DB) InvitationByHash(ctx context.Context, hash string) (keyhole.Invitation, error) {
	inv, err := scanInvitation(db.pool.QueryRow(ctx, `SELECT `+invitationCols+` FROM team_invitations WHERE hash = $1`, hash))
	return inv, mapErr("invitation by hash", err)
}

// DeleteInvitation deletes the team's invitation of the email.
func (db *DB) DeleteInvitation(ctx context.Context, teamID, email string, ev ...keyhole.Event) (keyhole.Invitation, error) {
	const op = "delete invitation"
	var out keyhole.Invitation
	err := db.tx(ctx, op, func(tx pgx.Tx) error {
		var err error
		out, err = scanInvitation(tx.QueryRow(ctx, `DELETE FROM team_invitations WHERE team_id = $1 AND lower(email) = lower($2) RETURNING `+invitationCols,
			teamID, email))
		if err != nil {
			return mapErr(op, err)
		}
		return insertEvents(ctx, tx, op, ev)
	})
	return out, err
}

// AcceptInvitation uses a live invitation of m's team and inserts m, in
// one transaction. The delete locks the row: a concurrent caller waits
// for the first one's transaction and then finds no row (or, when the
// first one failed and rolled back, takes it).
func (db *DB) AcceptInvitation(ctx context.Context, hash string, at time.Time, m keyhole.Member, ev ...keyhole.Event) error {
	const op = "accept invitation"
	return db.tx(ctx, op, func(tx pgx.Tx) error {
		n, err := exec(ctx, tx, op, `DELETE FROM team_invitations WHERE hash = $1 AND team_id = $2 AND expires_at > $3`, hash, m.TeamID, at)
		if err != nil {
			return err
		}
		if n == 0 {
			return notFound(op)
		}
		b := &pgx.Batch{}
		queueMember(b, m)
		queueEvents(b, ev)
		return sendBatch(ctx, tx, op, b)
	})
}

// DeleteExpiredInvitations deletes up to limit invitations expired at before.
func (db *DB) DeleteExpiredInvitations(ctx context.Context, before time.Time, limit int) (int64, error) {
	return exec(ctx, db.pool, "delete expired invitations",
		`DELETE FROM team_invitations WHERE id IN (SELECT id FROM team_invitations WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, before, limit)
}
