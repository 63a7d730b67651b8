package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

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

func scanApp(row interface{ Scan(...any) error }) (keyhole.App, error) {
	var a keyhole.App
	var account, team sql.NullString
	var created, updated int64
	if err := row.Scan(&a.ID, &account, &team, &a.Locked, &a.Name, &a.Region, &a.Stack, &a.Maintenance, &created, &updated); err != nil {
		return keyhole.App{}, mapErr(err)
	}
	a.AccountID, a.TeamID = account.String, team.String
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
	return a, nil
}

// CreateApp inserts a.
func (s *DB) CreateApp(ctx context.Context, a keyhole.App) error {
	return s.tx(ctx, func(tx queryer) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO apps (`+appCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, nullString(a.AccountID), nullString(a.TeamID), a.Locked, a.Name, a.Region, a.Stack, a.Maintenance, micros(a.CreatedAt), micros(a.UpdatedAt))
		return mapErr(err)
	})
}

// App returns the app with the id.
func (s *DB) App(ctx context.Context, id string) (keyhole.App, error) {
	return scanApp(s.run.QueryRowContext(ctx, `SELECT `+appCols+` FROM apps WHERE id = ?`, id))
}

// AppByName returns the app with the name.
func (s *DB) AppByName(ctx context.Context, name string) (keyhole.App, error) {
	return scanApp(s.run.QueryRowContext(ctx, `SELECT `+appCols+` FROM apps WHERE name = ?`, name))
}

var appOrder = map[string]string{"id": "id", "name": "name"}

// ListApps returns the apps the account owns, collaborates on or sees
// through a team: each once, as the union of the three (each by an index)
// picks the rows of apps.
func (s *DB) ListApps(ctx context.Context, accountID string, r store.Range) ([]keyhole.App, error) {
	tail, args, err := page(r, appOrder)
	if err != nil {
		return nil, err
	}
	rows, err := s.run.QueryContext(ctx, `SELECT `+appCols+` FROM apps WHERE id IN (
			SELECT id FROM apps WHERE account_id = ?
			UNION SELECT app_id FROM app_collaborators WHERE account_id = ?
			UNION SELECT a.id FROM team_members m JOIN apps a ON a.team_id = m.team_id WHERE m.account_id = ?)`+tail,
		append([]any{accountID, accountID, accountID}, args...)...)
	if err != nil {
		return nil, mapErr(err)
	}
	return collect(rows, scanApp)
}

// ListPersonalApps returns the personal apps the account owns or
// collaborates on.
func (s *DB) ListPersonalApps(ctx context.Context, accountID string, r store.Range) ([]keyhole.App, error) {
	tail, args, err := page(r, appOrder)
	if err != nil {
		return nil, err
	}
	rows, err := s.run.QueryContext(ctx, `SELECT `+appCols+` FROM apps WHERE team_id IS NULL AND id IN (
			SELECT id FROM apps WHERE account_id = ?
			UNION SELECT app_id FROM app_collaborators WHERE account_id = ?)`+tail,
		append([]any{accountID, accountID}, args...)...)
	if err != nil {
		return nil, mapErr(err)
	}
	return collect(rows, scanApp)
}

// ListTeamApps returns the team's apps.
func (s *DB) ListTeamApps(ctx context.Context, teamID string, r store.Range) ([]keyhole.App, error) {
	tail, args, err := page(r, appOrder)
	if err != nil {
		return nil, err
	}
	rows, err := s.run.QueryContext(ctx, `SELECT `+appCols+` FROM apps WHERE team_id = ?`+tail, append([]any{teamID}, args...)...)
	if err != nil {
		return nil, mapErr(err)
	}
	return collect(rows, scanApp)
}

// UpdateApp is a read-modify-write of one app. A change of owner takes
// the new owning account's own grant away, turns every grant into a
// personal app's when the app goes to an account, and records ev; without
// one, ev is not recorded.
func (s *DB) UpdateApp(ctx context.Context, id string, fn func(*keyhole.App) error, ev ...keyhole.Event) (keyhole.App, error) {
	var out keyhole.App
	err := s.tx(ctx, func(tx queryer) error {
		old, err := scanApp(tx.QueryRowContext(ctx, `SELECT `+appCols+` FROM apps WHERE id = ?`, id))
		if err != nil {
			return err
		}
		a := old
		if err := fn(&a); err != nil {
			return err
		}
		if out, err = scanApp(tx.QueryRowContext(ctx, `UPDATE apps SET account_id = ?, team_id = ?, locked = ?, name = ?, region = ?, stack = ?, maintenance = ?, updated_at = ?
			WHERE id = ? RETURNING `+appCols,
			nullString(a.AccountID), nullString(a.TeamID), a.Locked, a.Name, a.Region, a.Stack, a.Maintenance, micros(a.UpdatedAt), id)); err != nil {
			return err
		}
		if out.AccountID == old.AccountID && out.TeamID == old.TeamID {
			return nil
		}
		if out.AccountID != "" {
			if _, err := tx.ExecContext(ctx, `DELETE FROM app_collaborators WHERE app_id = ? AND account_id = ?`, id, out.AccountID); err != nil {
				return mapErr(err)
			}
			// Each grant loses manage, and keeps the rest.
			manage := "," + string(keyhole.PermManage) + ","
			if _, err := tx.ExecContext(ctx, `UPDATE app_collaborators SET permissions = trim(replace(',' || permissions || ',', ?, ','), ','), updated_at = ?
				WHERE app_id = ? AND instr(',' || permissions || ',', ?) > 0`,
				manage, micros(out.UpdatedAt), id, manage); err != nil {
				return mapErr(err)
			}
		}
		return insertEvents(ctx, tx, ev)
	})
	return out, err
}

// DeleteApp deletes the app and its config vars.
func (s *DB) DeleteApp(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx queryer) error {
		return execOne(ctx, tx, `DELETE FROM apps WHERE id = ?`, id)
	})
}

func configVars(ctx context.Context, q queryer, appID string) (map[string]string, error) {
	var one int
	if err := q.QueryRowContext(ctx, `SELECT 1 FROM apps WHERE id = ?`, appID).Scan(&one); err != nil {
		return nil, mapErr(err)
	}
	rows, err := q.QueryContext(ctx, `SELECT key, value FROM config_vars WHERE app_id = ?`, appID)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	vars := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, mapErr(err)
		}
		vars[k] = v
	}
	return vars, mapErr(rows.Err())
}

// ConfigVars returns the app's config vars.
func (s *DB) ConfigVars(ctx context.Context, appID string) (map[string]string, error) {
	return configVars(ctx, s.run, appID)
}

// UpdateConfigVars applies changes atomically and returns the result.
func (s *DB) UpdateConfigVars(ctx context.Context, appID string, changes map[string]*string, at time.Time) (map[string]string, error) {
	var out map[string]string
	err := s.tx(ctx, func(tx queryer) error {
		if err := execOne(ctx, tx, `UPDATE apps SET updated_at = ? WHERE id = ?`, micros(at), appID); err != nil {
			return err
		}
		for k, v := range changes {
			var err error
			if v == nil {
				_, err = tx.ExecContext(ctx, `DELETE FROM config_vars WHERE app_id = ? AND key = ?`, appID, k)
			} else {
				_, err = tx.ExecContext(ctx, `INSERT INTO config_vars (app_id, key, value) VALUES (?, ?, ?)
					ON CONFLICT (app_id, key) DO UPDATE SET value = excluded.value`, appID, k, *v)
			}
			if err != nil {
				return mapErr(err)
			}
		}
		var err error
		out, err = configVars(ctx, tx, appID)
		return err
	})
	return out, err
}
