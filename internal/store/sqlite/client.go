package sqlite

import (
	"context"
	"strings"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

const clientCols = `id, account_id, name, redirect_uri, secret_hash, secret_sealed, trusted, created_at, updated_at, post_logout_redirect_uris`

func scanClient(row interface{ Scan(...any) error }) (keyhole.Client, error) {
	var c keyhole.Client
	var created, updated int64
	var logout string
	if err := row.Scan(&c.ID, &c.AccountID, &c.Name, &c.RedirectURI, &c.SecretHash, &c.SecretSealed, &c.Trusted, &created, &updated, &logout); err != nil {
		return keyhole.Client{}, mapErr(err)
	}
	c.CreatedAt, c.UpdatedAt, c.PostLogoutRedirectURIs = fromMicros(created), fromMicros(updated), splitList(logout)
	return c, nil
}

// CreateClient inserts c.
func (s *DB) CreateClient(ctx context.Context, c keyhole.Client, ev ...keyhole.Event) error {
	return s.tx(ctx, func(tx queryer) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO clients (`+clientCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.AccountID, c.Name, c.RedirectURI, c.SecretHash, c.SecretSealed, c.Trusted, micros(c.CreatedAt), micros(c.UpdatedAt),
			strings.Join(c.PostLogoutRedirectURIs, " "))
		if err != nil {
			return mapErr(err)
		}
		return insertEvents(ctx, tx, ev)
	})
}

// Client returns the client with the id.
func (s *DB) Client(ctx context.Context, id string) (keyhole.Client, error) {
	return scanClient(s.run.QueryRowContext(ctx, `SELECT `+clientCols+` FROM clients WHERE id = ?`, id))
}

// ListClients returns the account's clients.
func (s *DB) ListClients(ctx context.Context, accountID string, r store.Range) ([]keyhole.Client, error) {
	tail, args, err := page(r, idOnly)
	if err != nil {
		return nil, err
	}
	rows, err := s.run.QueryContext(ctx, `SELECT `+clientCols+` FROM clients WHERE account_id = ?`+tail, append([]any{accountID}, args...)...)
	if err != nil {
		return nil, mapErr(err)
	}
	return collect(rows, scanClient)
}

// UpdateClient is a read-modify-write of one client.
func (s *DB) UpdateClient(ctx context.Context, id string, fn func(*keyhole.Client) error, ev ...keyhole.Event) (keyhole.Client, error) {
	var out keyhole.Client
	err := s.tx(ctx, func(tx queryer) error {
		c, err := scanClient(tx.QueryRowContext(ctx, `SELECT `+clientCols+` FROM clients WHERE id = ?`, id))
		if err != nil {
			return err
		}
		if err := fn(&c); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE clients SET name = ?, redirect_uri = ?, secret_hash = ?, secret_sealed = ?, trusted = ?, updated_at = ?,
			post_logout_redirect_uris = ? WHERE id = ?`,
			c.Name, c.RedirectURI, c.SecretHash, c.SecretSealed, c.Trusted, micros(c.UpdatedAt), strings.Join(c.PostLogoutRedirectURIs, " "), id)
		if err != nil {
			return mapErr(err)
		}
		out = c
		return insertEvents(ctx, tx, ev)
	})
	return out, err
}

// DeleteClient deletes the client; its authorizations and their tokens go
// with it (ON DELETE CASCADE).
func (s *DB) DeleteClient(ctx context.Context, id string, ev ...keyhole.Event) error {
	return s.tx(ctx, func(tx queryer) error {
		if err := execOne(ctx, tx, `DELETE FROM clients WHERE id = ?`, id); err != nil {
			return err
		}
		return insertEvents(ctx, tx, ev)
	})
}
