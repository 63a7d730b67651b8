package sqlite

import (
	"context"
	"fmt"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

const teamCols = `id, name, default_role, created_at, updated_at`

func scanTeam(row interface{ Scan(...any) error }) (keyhole.Team, error) {
	var t keyhole.Team
	var created, updated int64
	if err := row.Scan(&t.ID, &t.Name, &t.DefaultRole, &created, &updated); err != nil {
		return keyhole.Team{}, mapErr(err)
	}
	t.CreatedAt, t.UpdatedAt = fromMicros(created), fromMicros(updated)
	return t, nil
}

// CreateTeam inserts t with its first member, atomically.
func (s *DB) CreateTeam(ctx context.Context, t keyhole.Team, admin keyhole.Member, ev ...keyhole.Event) error {
	return s.tx(ctx, func(tx queryer) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO teams (`+teamCols+`) VALUES (?, ?, ?, ?, ?)`,
			t.ID, t.Name, string(t.DefaultRole), micros(t.CreatedAt), micros(t.UpdatedAt)); err != nil {
			return mapErr(err)
		}
		admin.TeamID = t.ID
		if err := insertMember(ctx, tx, admin); err != nil {
			return err
		}
		return insertEvents(ctx, tx, ev)
	})
}

// Team returns the team with the id.
func (s *DB) Team(ctx context.Context, id string) (keyhole.Team, error) {
	return scanTeam(s.run.QueryRowContext(ctx, `SELECT `+teamCols+` FROM teams WHERE id = ?`, id))
}

// TeamByName returns the team with the name.
func (s *DB) TeamByName(ctx context.Context, name string) (keyhole.Team, error) {
	return scanTeam(s.run.QueryRowContext(ctx, `SELECT `+teamCols+` FROM teams WHERE name = ?`, name))
}

// ListTeams returns the account's teams with its role in each, by name.
func (s *DB) ListTeams(ctx context.Context, accountID string) ([]store.TeamRole, error) {
	rows, err := s.run.QueryContext(ctx, `SELECT t.id, t.name, t.default_role, t.created_at, t.updated_at, m.role
		FROM team_members m JOIN teams t ON t.id = m.team_id WHERE m.account_id = ? ORDER BY t.name`, accountID)
	if err != nil {
		return nil, mapErr(err)
	}
	return collect(rows, func(row interface{ Scan(...any) error }) (store.TeamRole, error) {
		var tr store.TeamRole
		var created, updated int64
		if err := row.Scan(&tr.Team.ID, &tr.Team.Name, &tr.Team.DefaultRole, &created, &updated, &tr.Role); err != nil {
			return store.TeamRole{}, mapErr(err)
		}
		tr.Team.CreatedAt, tr.Team.UpdatedAt = fromMicros(created), fromMicros(updated)
		return tr, nil
	})
}

// UpdateTeam is a read-modify-write of one team.
func (s *DB) UpdateTeam(ctx context.Context, id string, fn func(*keyhole.Team) error, ev ...keyhole.Event) (keyhole.Team, error) {
	var out keyhole.Team
	err := s.tx(ctx, func(tx queryer) error {
		t, err := scanTeam(tx.QueryRowContext(ctx, `SELECT `+teamCols+` FROM teams WHERE id = ?`, id))
		if err != nil {
			return err
		}
		if err := fn(&t); err != nil {
			return err
		}
		if out, err = scanTeam(tx.QueryRowContext(ctx, `UPDATE teams SET name = ?, default_role = ?, updated_at = ? WHERE id = ? RETURNING `+teamCols,
			t.Name, string(t.DefaultRole), micros(t.UpdatedAt), id)); err != nil {
			return err
		}
		return insertEvents(ctx, tx, ev)
	})
	return out, err
}

// DeleteTeam deletes the team with its memberships and invitations
// (ON DELETE CASCADE) unless it owns an app. Write transactions run one
// at a time, so no app can be created in the team between the check and
// the delete; the foreign key's RESTRICT stands behind the check.
func (s *DB) DeleteTeam(ctx context.Context, id string, ev ...keyhole.Event) error {
	return s.tx(ctx, func(tx queryer) error {
		var apps int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM apps WHERE team_id = ?`, id).Scan(&apps); err != nil {
			return mapErr(err)
		}
		if apps > 0 {
			return fmt.Errorf("%w: the team owns %d apps", store.ErrInUse, apps)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM teams WHERE id = ?`, id)
		if isForeignKey(err) {
			// A foreign key fails a delete only where it restricts it.
			return fmt.Errorf("%w: %w", store.ErrInUse, err)
		}
		if err != nil {
			return mapErr(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return store.ErrNotFound
		}
		return insertEvents(ctx, tx, ev)
	})
}
