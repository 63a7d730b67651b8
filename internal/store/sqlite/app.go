package sqlite

import (
	"context"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

const appCols = `id, account_id, name, region, stack, maintenance, created_at, updated_at`

func scanApp(row interface{ Scan(...any) error }) (keyhole.App, error) {
	var a keyhole.App
	var created, updated int64
	if err := row.Scan(&a.ID, &a.AccountID, &a.Name, &a.Region, &a.Stack, &a.Maintenance, &created, &updated); err != nil {
		return keyhole.App{}, mapErr(err)
	}
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
	return a, nil
}

// CreateApp inserts a.
func (s *DB) CreateApp(ctx context.Context, a keyhole.App) error {
	return s.tx(ctx, func(tx queryer) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO apps (`+appCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.AccountID, a.Name, a.Region, a.Stack, a.Maintenance, micros(a.CreatedAt), micros(a.UpdatedAt))
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

// ListApps returns the account's apps.
func (s *DB) ListApps(ctx context.Context, accountID string, r store.Range) ([]keyhole.App, error) {
	tail, args, err := page(r, map[string]string{"id": "id", "name": "name"})
	if err != nil {
		return nil, err
	}
	rows, err := s.run.QueryContext(ctx, `SELECT `+appCols+` FROM apps WHERE account_id = ?`+tail, append([]any{accountID}, args...)...)
	if err != nil {
		return nil, mapErr(err)
	}
	return collect(rows, scanApp)
}

// UpdateApp is a read-modify-write of one app.
func (s *DB) UpdateApp(ctx context.Context, id string, fn func(*keyhole.App) error) (keyhole.App, error) {
	var out keyhole.App
	err := s.tx(ctx, func(tx queryer) error {
		a, err := scanApp(tx.QueryRowContext(ctx, `SELECT `+appCols+` FROM apps WHERE id = ?`, id))
		if err != nil {
			return err
		}
		if err := fn(&a); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE apps SET name = ?, region = ?, stack = ?, maintenance = ?, updated_at = ? WHERE id = ?`,
			a.Name, a.Region, a.Stack, a.Maintenance, micros(a.UpdatedAt), id); err != nil {
			return mapErr(err)
		}
		out = a
		return nil
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
