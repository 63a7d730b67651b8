package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keyhole/keyhole/internal/keyhole"
)

// collaboratorCols reads a grant (c) with its account (a).
const collaboratorCols = `c.id, c.app_id, c.account_id, c.permissions, c.created_at, c.updated_at, a.email, a.name`

const collaboratorFrom = ` FROM app_collaborators c JOIN accounts a ON a.id = c.account_id`

// permissionNames keeps a nil list from becoming NULL.
func permissionNames(ps []keyhole.Permission) []string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = string(p)
	}
	return names
}

func scanCollaborator(row pgx.Row) (keyhole.Collaborator, error) {
	var c keyhole.Collaborator
	var names []string
	if err := row.Scan(&c.ID, &c.AppID, &c.AccountID, &names, &c.CreatedAt, &c.UpdatedAt, &c.Email, &c.Name); err != nil {
		return keyhole.Collaborator{}, err
	}
	c.Permissions = make([]keyhole.Permission, len(names))
	for i, n := range names {
		c.Permissions[i] = keyhole.Permission(n)
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c, nil
}

func collaborator(ctx context.Context, q querier, op, appID, accountID string) (keyhole.Collaborator, error) {
	c, err := scanCollaborator(q.QueryRow(ctx, `SELECT `+collaboratorCols+collaboratorFrom+` WHERE c.app_id = $1 AND c.account_id = $2`, appID, accountID))
	return c, mapErr(op, err)
}

// Collaborators returns the app's grants, by email (case-insensitively, then in byte order).
func (db *DB) Collaborators(ctx context.Context, appID string) ([]keyhole.Collaborator, error) {
	return list(ctx, db.pool, "collaborators", `SELECT `+collaboratorCols+collaboratorFrom+` WHERE c.app_id = $1 ORDER BY lower(a.email) COLLATE "C", a.email COLLATE "C", c.id`,
		[]any{appID}, scanCollaborator)
}

// Collaborator returns the account's grant on the app.
func (db *DB) Collaborator(ctx context.Context, appID, accountID string) (keyhole.Collaborator, error) {
	return collaborator(ctx, db.pool, "collaborator", appID, accountID)
}

// AddCollaborator inserts c.
func (db *DB) AddCollaborator(ctx context.Context, c keyhole.Collaborator, ev ...keyhole.Event) error {
	const op = "add collaborator"
	return db.tx(ctx, op, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO app_collaborators (id, app_id, account_id, permissions, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			c.ID, c.AppID, c.AccountID, permissionNames(c.Permissions), c.CreatedAt, c.UpdatedAt)
		queueEvents(b, ev)
		return sendBatch(ctx, tx, op, b)
	})
}

// SetPermissions changes the permissions of one grant.
func (db *DB) SetPermissions(ctx context.Context, appID, accountID string, ps []keyhole.Permission, at time.Time, ev ...keyhole.Event) (keyhole.Collaborator, error) {
	const op = "set permissions"
	var out keyhole.Collaborator
	err := db.tx(ctx, op, func(tx pgx.Tx) error {
		var err error
		out, err = scanCollaborator(tx.QueryRow(ctx, `UPDATE app_collaborators c SET permissions = $3, updated_at = $4 FROM accounts a
			WHERE a.id = c.account_id AND c.app_id = $1 AND c.account_id = $2 RETURNING `+collaboratorCols,
			appID, accountID, permissionNames(ps), at))
		if err != nil {
			return mapErr(op, err)
		}
		return insertEvents(ctx, tx, op, ev)
	})
	return out, err
}

// RemoveCollaborator deletes one grant and returns it as it was.
func (db *DB) RemoveCollaborator(ctx context.Context, appID, accountID string, ev ...keyhole.Event) (keyhole.Collaborator, error) {
	const op = "remove collaborator"
	var out keyhole.Collaborator
	err := db.tx(ctx, op, func(tx pgx.Tx) error {
		var err error
		out, err = scanCollaborator(tx.QueryRow(ctx, `DELETE FROM app_collaborators c USING accounts a
			WHERE a.id = c.account_id AND c.app_id = $1 AND c.account_id = $2 RETURNING `+collaboratorCols, appID, accountID))
		if err != nil {
			return mapErr(op, err)
		}
		return insertEvents(ctx, tx, op, ev)
	})
	return out, err
}

// CollaboratorApps returns the team's apps the account holds a grant on,
// by name.
func (db *DB) CollaboratorApps(ctx context.Context, teamID, accountID string) ([]keyhole.App, error) {
	return list(ctx, db.pool, "collaborator apps", `SELECT `+appColsOf("p")+` FROM app_collaborators c JOIN apps p ON p.id = c.app_id
		WHERE p.team_id = $1 AND c.account_id = $2 ORDER BY p.name`, []any{teamID, accountID}, scanApp)
}
