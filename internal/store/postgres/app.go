package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

const appCols = `id, account_id, team_id, locked, name, region, stack, maintenance, created_at, updated_at`

// appColsOf is appCols qualified by the table's alias, for joins.
func appColsOf(alias string) string {
	cols := strings.Split(appCols, ", ")
	for i, c := range cols {
		cols[i] = alias + "." + c
	}
	return strings.Join(cols, ", ")
}

func scanApp(row pgx.Row) (keyhole.App, error) {
	var a keyhole.App
	var account, team pgtype.Text
	if err := row.Scan(&a.ID, &account, &team, &a.Locked, &a.Name, &a.Region, &a.Stack, &a.Maintenance, &a.CreatedAt, &a.UpdatedAt); err != nil {
		return keyhole.App{}, err
	}
	a.AccountID, a.TeamID = account.String, team.String
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	return a, nil
}

// CreateApp inserts a. A team's row is locked (FOR KEY SHARE, by its
// foreign key) until the insert commits, so that DeleteTeam waits for it.
func (db *DB) CreateApp(ctx context.Context, a keyhole.App) error {
	_, err := exec(ctx, db.pool, "create app", `INSERT INTO apps (`+appCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		a.ID, nullText(a.AccountID), nullText(a.TeamID), a.Locked, a.Name, a.Region, a.Stack, a.Maintenance, a.CreatedAt, a.UpdatedAt)
	return err
}

// App returns the app with the id.
func (db *DB) App(ctx context.Context, id string) (keyhole.App, error) {
	a, err := scanApp(db.pool.QueryRow(ctx, `SELECT `+appCols+` FROM apps WHERE id = $1`, id))
	return a, mapErr("app", err)
}

// AppByName returns the app with the name.
func (db *DB) AppByName(ctx context.Context, name string) (keyhole.App, error) {
	a, err := scanApp(db.pool.QueryRow(ctx, `SELECT `+appCols+` FROM apps WHERE name = $1`, name))
	return a, mapErr("app by name", err)
}

// ListApps returns the apps the account owns, collaborates on or sees
// through a team, in r's order (by "id" or "name"): each once, as the
// union of the three (each by an index) picks the rows of apps.
func (db *DB) ListApps(ctx context.Context, accountID string, r store.Range) ([]keyhole.App, error) {
	tail, args, err := page(r, 1, "id", "name")
	if err != nil {
		return nil, err
	}
	return list(ctx, db.pool, "list apps", `SELECT `+appCols+` FROM apps WHERE id IN (
			SELECT id FROM apps WHERE account_id = $1
			UNION SELECT app_id FROM app_collaborators WHERE account_id = $1
			UNION SELECT a.id FROM team_members m JOIN apps a ON a.team_id = m.team_id WHERE m.account_id = $1)`+tail,
		append([]any{accountID}, args...), scanApp)
}

// ListPersonalApps returns the personal apps the account owns or
// collaborates on, in r's order (by "id" or "name").
func (db *DB) ListPersonalApps(ctx context.Context, accountID string, r store.Range) ([]keyhole.App, error) {
	tail, args, err := page(r, 1, "id", "name")
	if err != nil {
		return nil, err
	}
	return list(ctx, db.pool, "list personal apps", `SELECT `+appCols+` FROM apps WHERE team_id IS NULL AND id IN (
			SELECT id FROM apps WHERE account_id = $1
			UNION SELECT app_id FROM app_collaborators WHERE account_id = $1)`+tail,
		append([]any{accountID}, args...), scanApp)
}

// ListTeamApps returns the team's apps, in r's order (by "id" or "name").
func (db *DB) ListTeamApps(ctx context.Context, teamID string, r store.Range) ([]keyhole.App, error) {
	tail, args, err := page(r, 1, "id", "name")
	if err != nil {
		return nil, err
	}
	return list(ctx, db.pool, "list team apps", `SELECT `+appCols+` FROM apps WHERE team_id = $1`+tail,
		append([]any{teamID}, args...), scanApp)
}

// UpdateApp is a read-modify-write of one app under a row lock. It returns
// the app as stored: fn cannot change ID or CreatedAt. A change of owner
// takes the new owning account's own grant away, turns every grant into a
// personal app's when the app goes to an account, and records ev; without
// one, ev is not recorded.
func (db *DB) UpdateApp(ctx context.Context, id string, fn func(*keyhole.App) error, ev ...keyhole.Event) (keyhole.App, error) {
	const op = "update app"
	var out keyhole.App
	err := db.tx(ctx, op, func(tx pgx.Tx) error {
		old, err := scanApp(tx.QueryRow(ctx, `SELECT `+appCols+` FROM apps WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return mapErr(op, err)
		}
		a := old
		if err := fn(&a); err != nil {
			return err
		}
		out, err = scanApp(tx.QueryRow(ctx, `UPDATE apps SET account_id = $2, team_id = $3, locked = $4, name = $5, region = $6, stack = $7,
			maintenance = $8, updated_at = $9 WHERE id = $1 RETURNING `+appCols,
			id, nullText(a.AccountID), nullText(a.TeamID), a.Locked, a.Name, a.Region, a.Stack, a.Maintenance, a.UpdatedAt))
		if err != nil {
			return mapErr(op, err)
		}
		if out.AccountID == old.AccountID && out.TeamID == old.TeamID {
			return nil
		}
		b := &pgx.Batch{}
		if out.AccountID != "" {
			b.Queue(`DELETE FROM app_collaborators WHERE app_id = $1 AND account_id = $2`, id, out.AccountID)
			// Each grant loses manage, and keeps the rest.
			b.Queue(`UPDATE app_collaborators SET permissions = array_remove(permissions, $2), updated_at = $3 WHERE app_id = $1 AND $2 = ANY(permissions)`,
				id, string(keyhole.PermManage), out.UpdatedAt)
		}
		queueEvents(b, ev)
		if b.Len() == 0 {
			return nil
		}
		return sendBatch(ctx, tx, op, b)
	})
	return out, err
}

// DeleteApp deletes the app; its config vars go with it (ON DELETE
// CASCADE, within the one statement).
func (db *DB) DeleteApp(ctx context.Context, id string) error {
	const op = "delete app"
	n, err := exec(ctx, db.pool, op, `DELETE FROM apps WHERE id = $1`, id)
	if err == nil && n == 0 {
		err = notFound(op)
	}
	return err
}

// configVars reads the app's config vars in one query: no row means no
// app, and an app without vars gives one row of NULLs.
func configVars(ctx context.Context, q querier, op, appID string) (map[string]string, error) {
	rows, err := q.Query(ctx, `SELECT v.key, v.value FROM apps a LEFT JOIN config_vars v ON v.app_id = a.id WHERE a.id = $1`, appID)
	if err != nil {
		return nil, mapErr(op, err)
	}
	defer rows.Close()
	vars := map[string]string{}
	found := false
	for rows.Next() {
		found = true
		var k, v pgtype.Text
		if err := rows.Scan(&k, &v); err != nil {
			return nil, mapErr(op, err)
		}
		if k.Valid {
			vars[k.String] = v.String
		}
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(op, err)
	}
	if !found {
		return nil, notFound(op)
	}
	return vars, nil
}

// ConfigVars returns the app's config vars; never nil.
func (db *DB) ConfigVars(ctx context.Context, appID string) (map[string]string, error) {
	return configVars(ctx, db.pool, "config vars", appID)
}

// UpdateConfigVars applies changes (nil deletes), sets the app's UpdatedAt
// and returns the resulting vars, in one transaction. Updating the app row
// first locks it, so concurrent changes to one app apply one after the
// other.
func (db *DB) UpdateConfigVars(ctx context.Context, appID string, changes map[string]*string, at time.Time) (map[string]string, error) {
	const op = "update config vars"
	var out map[string]string
	err := db.tx(ctx, op, func(tx pgx.Tx) error {
		n, err := exec(ctx, tx, op, `UPDATE apps SET updated_at = $2 WHERE id = $1`, appID, at)
		if err != nil {
			return err
		}
		if n == 0 {
			return notFound(op)
		}
		var gone, keys, values []string
		for k, v := range changes {
			if v == nil {
				gone = append(gone, k)
			} else {
				keys, values = append(keys, k), append(values, *v)
			}
		}
		b := &pgx.Batch{}
		if len(gone) > 0 {
			b.Queue(`DELETE FROM config_vars WHERE app_id = $1 AND key = ANY($2)`, appID, gone)
		}
		if len(keys) > 0 {
			b.Queue(`INSERT INTO config_vars (app_id, key, value) SELECT $1, k, v FROM unnest($2::TEXT[], $3::TEXT[]) AS x (k, v)
				ON CONFLICT (app_id, key) DO UPDATE SET value = excluded.value`, appID, keys, values)
		}
		if b.Len() > 0 {
			if err := sendBatch(ctx, tx, op, b); err != nil {
				return err
			}
		}
		out, err = configVars(ctx, tx, op, appID)
		return err
	})
	return out, err
}
