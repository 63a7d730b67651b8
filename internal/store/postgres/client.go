package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

const clientCols = `id, account_id, name, redirect_uri, secret_hash, secret_sealed, trusted, created_at, updated_at, post_logout_redirect_uris`

func scanClient(row pgx.Row) (keyhole.Client, error) {
	var c keyhole.Client
	if err := row.Scan(&c.ID, &c.AccountID, &c.Name, &c.RedirectURI, &c.SecretHash, &c.SecretSealed, &c.Trusted, &c.CreatedAt, &c.UpdatedAt, &c.PostLogoutRedirectURIs); err != nil {
		return keyhole.Client{}, err
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	if len(c.PostLogoutRedirectURIs) == 0 {
		c.PostLogoutRedirectURIs = nil
	}
	return c, nil
}

// CreateClient inserts c.
func (db *DB) CreateClient(ctx context.Context, c keyhole.Client, ev ...keyhole.Event) error {
	const op = "create client"
	return db.tx(ctx, op, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO clients (`+clientCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			c.ID, c.AccountID, c.Name, c.RedirectURI, c.SecretHash, c.SecretSealed, c.Trusted, c.CreatedAt, c.UpdatedAt, uriList(c.PostLogoutRedirectURIs))
		queueEvents(b, ev)
		return sendBatch(ctx, tx, op, b)
	})
}

// Client returns the client with the id.
func (db *DB) Client(ctx context.Context, id string) (keyhole.Client, error) {
	c, err := scanClient(db.pool.QueryRow(ctx, `SELECT `+clientCols+` FROM clients WHERE id = $1`, id))
	return c, mapErr("client", err)
}

// ListClients returns the clients the account registered, in r's order.
func (db *DB) ListClients(ctx context.Context, accountID string, r store.Range) ([]keyhole.Client, error) {
	tail, args, err := page(r, 1, "id")
	if err != nil {
		return nil, err
	}
	return list(ctx, db.pool, "list clients", `SELECT `+clientCols+` FROM clients WHERE account_id = $1`+tail,
		append([]any{accountID}, args...), scanClient)
}

// UpdateClient is a read-modify-write of one client under a row lock. It
// returns the client as stored: fn cannot change ID, AccountID (the owner)
// or CreatedAt.
func (db *DB) UpdateClient(ctx context.Context, id string, fn func(*keyhole.Client) error, ev ...keyhole.Event) (keyhole.Client, error) {
	const op = "update client"
	var out keyhole.Client
	err := db.tx(ctx, op, func(tx pgx.Tx) error {
		c, err := scanClient(tx.QueryRow(ctx, `SELECT `+clientCols+` FROM clients WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return mapErr(op, err)
		}
		if err := fn(&c); err != nil {
			return err
		}
		out, err = scanClient(tx.QueryRow(ctx, `UPDATE clients
			SET name = $2, redirect_uri = $3, secret_hash = $4, secret_sealed = $5, trusted = $6, updated_at = $7,
				post_logout_redirect_uris = $8
			WHERE id = $1 RETURNING `+clientCols,
			id, c.Name, c.RedirectURI, c.SecretHash, c.SecretSealed, c.Trusted, c.UpdatedAt, uriList(c.PostLogoutRedirectURIs)))
		if err != nil {
			return mapErr(op, err)
		}
		return insertEvents(ctx, tx, op, ev)
	})
	return out, err
}

// DeleteClient deletes the client; its authorizations, their tokens and its
// pending device grants go with it (ON DELETE CASCADE, within the one
// statement).
func (db *DB) DeleteClient(ctx context.Context, id string, ev ...keyhole.Event) error {
	return db.deleteOne(ctx, "delete client", `DELETE FROM clients WHERE id = $1`, id, ev)
}

// uriList is a list of URIs for a NOT NULL text[] column: nil is empty.
func uriList(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}
