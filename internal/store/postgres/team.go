package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

const teamCols = `id, name, default_role, created_at, updated_at`

func scanTeam(row pgx.Row) (keyhole.Team, error) {
	var t keyhole.Team
	if err := row.Scan(&t.ID, &t.Name, &t.DefaultRole, &t.CreatedAt, &t.UpdatedAt); err != nil {
		return keyhole.Team{}, err
	}
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return t, nil
}

// CreateTeam inserts t with its first member, in one transaction.
func (db *DB) CreateTeam(ctx context.Context, t keyhole.Team, admin keyhole.Member, ev ...keyhole.Event) error {
	const op = "create team"
	return db.tx(ctx, op, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO teams (`+teamCols+`) VALUES ($1, $2, $3, $4, $5)`, t.ID, t.Name, string(t.DefaultRole), t.CreatedAt, t.UpdatedAt)
		admin.TeamID = t.ID
		queueMember(b, admin)
		queueEvents(b, ev)
		return sendBatch(ctx, tx, op, b)
	})
}

// Team returns the team with the id.
func (db *DB) Team(ctx context.Context, id string) (keyhole.Team, error) {
	t, err := scanTeam(db.pool.QueryRow(ctx, `SELECT `+teamCols+` FROM teams WHERE id = $1`, id))
	return t, mapErr("team", err)
}

// TeamByName returns the team with the name.
func (db *DB) TeamByName(ctx context.Context, name string) (keyhole.Team, error) {
	t, err := scanTeam(db.pool.QueryRow(ctx, `SELECT `+teamCols+` FROM teams WHERE name = $1`, name))
	return t, mapErr("team by name", err)
}

// ListTeams returns the account's teams with its role in each, by name.
func (db *DB) ListTeams(ctx context.Context, accountID string) ([]store.TeamRole, error) {
	return list(ctx, db.pool, "list teams", `SELECT t.id, t.name, t.default_role, t.created_at, t.updated_at, m.role
		FROM team_members m JOIN teams t ON t.id = m.team_id WHERE m.account_id = $1 ORDER BY t.name`, []any{accountID},
		func(row pgx.Row) (store.TeamRole, error) {
			var tr store.TeamRole
			if err := row.Scan(&tr.Team.ID, &tr.Team.Name, &tr.Team.DefaultRole, &tr.Team.CreatedAt, &tr.Team.UpdatedAt, &tr.Role); err != nil {
				return store.TeamRole{}, err
			}
			tr.Team.CreatedAt, tr.Team.UpdatedAt = tr.Team.CreatedAt.UTC(), tr.Team.UpdatedAt.UTC()
			return tr, nil
		})
}

// UpdateTeam is a read-modify-write of one team under a row lock.
func (db *DB) UpdateTeam(ctx context.Context, id string, fn func(*keyhole.Team) error, ev ...keyhole.Event) (keyhole.Team, error) {
	const op = "update team"
	var out keyhole.Team
	err := db.tx(ctx, op, func(tx pgx.Tx) error {
		t, err := scanTeam(tx.QueryRow(ctx, `SELECT `+teamCols+` FROM teams WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return mapErr(op, err)
		}
		if err := fn(&t); err != nil {
			return err
		}
		if out, err = scanTeam(tx.QueryRow(ctx, `UPDATE teams SET name = $2, default_role = $3, updated_at = $4 WHERE id = $1 RETURNING `+teamCols,
			id, t.Name, string(t.DefaultRole), t.UpdatedAt)); err != nil {
			return mapErr(op, err)
		}
		return insertEvents(ctx, tx, op, ev)
	})
	return out, err
}

// lockTeam locks the team's row until the transaction ends, so that
// changes of one team's members (and its deletion) run one after the
// other; ErrNotFound if there is no such team.
func lockTeam(ctx context.Context, tx pgx.Tx, op, id string) error {
	var one int
	return mapErr(op, tx.QueryRow(ctx, `SELECT 1 FROM teams WHERE id = $1 FOR UPDATE`, id).Scan(&one))
}

// DeleteTeam deletes the team with its memberships and invitations (ON
// DELETE CASCADE) unless it owns an app. The team's row is locked first:
// an app being inserted into the team holds a key-share lock on it until
// it commits, so the check after the lock sees that app; an app inserted
// after the lock waits, and fails on the foreign key once the team is
// gone. The key's RESTRICT stands behind the check.
func (db *DB) DeleteTeam(ctx context.Context, id string, ev ...keyhole.Event) error {
	const op = "delete team"
	return db.tx(ctx, op, func(tx pgx.Tx) error {
		if err := lockTeam(ctx, tx, op, id); err != nil {
			return err
		}
		var apps int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM apps WHERE team_id = $1`, id).Scan(&apps); err != nil {
			return mapErr(op, err)
		}
		if apps > 0 {
			return fmt.Errorf("postgres: %s: %w: the team owns %d apps", op, store.ErrInUse, apps)
		}
		tag, err := tx.Exec(ctx, `DELETE FROM teams WHERE id = $1`, id)
		if isForeignKey(err) {
			return fmt.Errorf("postgres: %s: %w: %w", op, store.ErrInUse, err)
		}
		if err != nil {
			return mapErr(op, err)
		}
		if tag.RowsAffected() == 0 {
			return notFound(op)
		}
		return insertEvents(ctx, tx, op, ev)
	})
}
