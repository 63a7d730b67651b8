package sqlite

import (
	"context"
	"strings"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
)

// collaboratorCols reads a grant (c) with its account (a).
const collaboratorCols = `c.id, c.app_id, c.account_id, c.permissions, c.created_at, c.updated_at, a.email, a.name`

const collaboratorFrom = ` FROM app_collaborators c JOIN accounts a ON a.id = c.account_id`

// Permissions are stored as names separated by commas, in their order.

func joinPermissions(ps []keyhole.Permission) string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = string(p)
	}
	return strings.Join(names, ",")
}

func splitPermissions(s string) []keyhole.Permission {
	out := []keyhole.Permission{}
	if s == "" {
		return out
	}
	for _, p := range strings.Split(s, ",") {
		out = append(out, keyhole.Permission(p))
	}
	return out
}

func scanCollaborator(row interface{ Scan(...any) error }) (keyhole.Collaborator, error) {
	var c keyhole.Collaborator
	var ps string
	var created, updated int64
	if err := row.Scan(&c.ID, &c.AppID, &c.AccountID, &ps, &created, &updated, &c.Email, &c.Name); err != nil {
		return keyhole.Collaborator{}, mapErr(err)
	}
	c.Permissions, c.CreatedAt, c.UpdatedAt = splitPermissions(ps), fromMicros(created), fromMicros(updated)
	return c, nil
}

func collaborator(ctx context.Context, q queryer, appID, accountID string) (keyhole.Collaborator, error) {
	return scanCollaborator(q.QueryRowContext(ctx, `SELECT `+collaboratorCols+collaboratorFrom+` WHERE c.app_id = ? AND c.account_id = ?`, appID, accountID))
}

// Collaborators returns the app's grants, by email (case-insensitively).
func (s *DB) Collaborators(ctx context.Context, appID string) ([]keyhole.Collaborator, error) {
	rows, err := s.run.QueryContext(ctx, `SELECT `+collaboratorCols+collaboratorFrom+` WHERE c.app_id = ? ORDER BY lower(a.email), a.email, c.id`, appID)
	if err != nil {
		return nil, mapErr(err)
	}
	return collect(rows, scanCollaborator)
}

// Collaborator returns the account's grant on the app.
func (s *DB) Collaborator(ctx context.Context, appID, accountID string) (keyhole.Collaborator, error) {
	return collaborator(ctx, s.run, appID, accountID)
}

// AddCollaborator inserts c.
func (s *DB) AddCollaborator(ctx context.Context, c keyhole.Collaborator, ev ...keyhole.Event) error {
	return s.tx(ctx, func(tx queryer) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO app_collaborators (id, app_id, account_id, permissions, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
			c.ID, c.AppID, c.AccountID, joinPermissions(c.Permissions), micros(c.CreatedAt), micros(c.UpdatedAt)); err != nil {
			return mapErr(err)
		}
		return insertEvents(ctx, tx, ev)
	})
}

// SetPermissions changes the permissions of one grant.
func (s *DB) SetPermissions(ctx context.Context, appID, accountID string, ps []keyhole.Permission, at time.Time, ev ...keyhole.Event) (keyhole.Collaborator, error) {
	var out keyhole.Collaborator
	err := s.tx(ctx, func(tx queryer) error {
		if err := execOne(ctx, tx, `UPDATE app_collaborators SET permissions = ?, updated_at = ? WHERE app_id = ? AND account_id = ?`,
			joinPermissions(ps), micros(at), appID, accountID); err != nil {
			return err
		}
		var err error
		if out, err = collaborator(ctx, tx, appID, accountID); err != nil {
			return err
		}
		return insertEvents(ctx, tx, ev)
	})
	return out, err
}

// RemoveCollaborator deletes one grant and returns it as it was.
func (s *DB) RemoveCollaborator(ctx context.Context, appID, accountID string, ev ...keyhole.Event) (keyhole.Collaborator, error) {
	var out keyhole.Collaborator
	err := s.tx(ctx, func(tx queryer) error {
		var err error
		if out, err = collaborator(ctx, tx, appID, accountID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM app_collaborators WHERE id = ?`, out.ID); err != nil {
			return mapErr(err)
		}
		return insertEvents(ctx, tx, ev)
	})
	return out, err
}

// CollaboratorApps returns the team's apps the account holds a grant on,
// by name.
func (s *DB) CollaboratorApps(ctx context.Context, teamID, accountID string) ([]keyhole.App, error) {
	rows, err := s.run.QueryContext(ctx, `SELECT `+appColsOf("p")+` FROM app_collaborators c JOIN apps p ON p.id = c.app_id
		WHERE p.team_id = ? AND c.account_id = ? ORDER BY p.name`, teamID, accountID)
	if err != nil {
		return nil, mapErr(err)
	}
	return collect(rows, scanApp)
}
