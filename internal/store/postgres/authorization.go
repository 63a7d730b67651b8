package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

const authorizationCols = `id, account_id, client_id, session_id, scope, description, is_default, created_at, updated_at, last_used_at`

// authorizationRow holds the columns of an authorization as scanned.
type authorizationRow struct {
	a                        keyhole.Authorization
	account, client, session pgtype.Text
	used                     pgtype.Timestamptz
}

func (r *authorizationRow) dest() []any {
	return []any{&r.a.ID, &r.account, &r.client, &r.session, &r.a.Scope, &r.a.Description, &r.a.Default, &r.a.CreatedAt, &r.a.UpdatedAt, &r.used}
}

func (r *authorizationRow) value() keyhole.Authorization {
	a := r.a
	a.AccountID, a.ClientID, a.SessionID = r.account.String, r.client.String, r.session.String
	a.Scope, a.CreatedAt, a.UpdatedAt, a.LastUsedAt = scope(a.Scope), a.CreatedAt.UTC(), a.UpdatedAt.UTC(), fromNullTime(r.used)
	return a
}

func scanAuthorization(row pgx.Row) (keyhole.Authorization, error) {
	var r authorizationRow
	if err := row.Scan(r.dest()...); err != nil {
		return keyhole.Authorization{}, err
	}
	return r.value(), nil
}

// queueAuthorization adds the inserts of a and its tokens to b.
func queueAuthorization(b *pgx.Batch, a keyhole.Authorization, tokens []keyhole.Token) {
	b.Queue(`INSERT INTO authorizations (`+authorizationCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		a.ID, nullText(a.AccountID), nullText(a.ClientID), nullText(a.SessionID), scope(a.Scope), a.Description, a.Default,
		a.CreatedAt, a.UpdatedAt, nullTime(a.LastUsedAt))
	queueTokens(b, tokens)
}

// CreateAuthorization inserts a and its tokens in one transaction.
func (db *DB) CreateAuthorization(ctx context.Context, a keyhole.Authorization, tokens []keyhole.Token, ev ...keyhole.Event) error {
	const op = "create authorization"
	return db.tx(ctx, op, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		queueAuthorization(b, a, tokens)
		queueEvents(b, ev)
		return sendBatch(ctx, tx, op, b)
	})
}

// Authorization returns the authorization with the id.
func (db *DB) Authorization(ctx context.Context, id string) (keyhole.Authorization, error) {
	a, err := scanAuthorization(db.pool.QueryRow(ctx, `SELECT `+authorizationCols+` FROM authorizations WHERE id = $1`, id))
	return a, mapErr("authorization", err)
}

// DefaultAuthorization returns the account's API key authorization.
func (db *DB) DefaultAuthorization(ctx context.Context, accountID string) (keyhole.Authorization, error) {
	a, err := scanAuthorization(db.pool.QueryRow(ctx, `SELECT `+authorizationCols+` FROM authorizations WHERE account_id = $1 AND is_default`, accountID))
	return a, mapErr("default authorization", err)
}

// ListAuthorizations returns the account's authorizations, in r's order.
func (db *DB) ListAuthorizations(ctx context.Context, accountID string, r store.Range) ([]keyhole.Authorization, error) {
	tail, args, err := page(r, 1, "id")
	if err != nil {
		return nil, err
	}
	return list(ctx, db.pool, "list authorizations", `SELECT `+authorizationCols+` FROM authorizations WHERE account_id = $1`+tail,
		append([]any{accountID}, args...), scanAuthorization)
}

// UpdateAuthorization is a read-modify-write of one authorization under a
// row lock; only Description, Scope and UpdatedAt are written, and it
// returns the authorization as stored.
func (db *DB) UpdateAuthorization(ctx context.Context, id string, fn func(*keyhole.Authorization) error) (keyhole.Authorization, error) {
	const op = "update authorization"
	var out keyhole.Authorization
	err := db.tx(ctx, op, func(tx pgx.Tx) error {
		a, err := scanAuthorization(tx.QueryRow(ctx, `SELECT `+authorizationCols+` FROM authorizations WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return mapErr(op, err)
		}
		if err := fn(&a); err != nil {
			return err
		}
		out, err = scanAuthorization(tx.QueryRow(ctx, `UPDATE authorizations SET description = $2, scope = $3, updated_at = $4
			WHERE id = $1 RETURNING `+authorizationCols, id, a.Description, scope(a.Scope), a.UpdatedAt))
		return mapErr(op, err)
	})
	return out, err
}

// DeleteAuthorization deletes the authorization; its tokens go with it
// (ON DELETE CASCADE, within the one statement).
func (db *DB) DeleteAuthorization(ctx context.Context, id string, ev ...keyhole.Event) error {
	const op = "delete authorization"
	return db.deleteOne(ctx, op, `DELETE FROM authorizations WHERE id = $1`, id, ev)
}

// TouchAuthorization stamps the authorization's last use, at most once
// every `every`.
func (db *DB) TouchAuthorization(ctx context.Context, id string, at time.Time, every time.Duration) error {
	_, err := exec(ctx, db.pool, "touch authorization",
		`UPDATE authorizations SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $3)`, id, at, at.Add(-every))
	return err
}

// grantWhere picks the grants: authorizations of an account to a client,
// made by consent (no session, not the API key).
const grantWhere = `account_id IS NOT NULL AND client_id IS NOT NULL AND session_id IS NULL AND NOT is_default`

// grantQuery finds the account's grant of a scope to a client
// (authorizations_grant).
const grantQuery = `FROM authorizations WHERE account_id = $1 AND client_id = $2 AND scope = $3 AND ` + grantWhere + `
	ORDER BY updated_at DESC, id DESC LIMIT 1`

// Grant returns the account's grant of exactly scope to the client.
func (db *DB) Grant(ctx context.Context, accountID, clientID string, scope []string) (keyhole.Authorization, error) {
	a, err := scanAuthorization(db.pool.QueryRow(ctx, `SELECT `+authorizationCols+` `+grantQuery, accountID, clientID, scope))
	return a, mapErr("grant", err)
}

// GrantCode gives the account's grant the code, or inserts a with it, if
// the grant is still what the caller found. The account's row is locked
// first, so that grants of one account are given one after the other;
// then the grant's row, as ReplaceTokens and DeleteUnusedGrants lock it.
// A grant deleted while this waited for its lock is not found.
func (db *DB) GrantCode(ctx context.Context, a keyhole.Authorization, reuse bool, code keyhole.Token, ev ...keyhole.Event) error {
	const op = "grant code"
	return db.tx(ctx, op, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM accounts WHERE id = $1 FOR NO KEY UPDATE`, a.AccountID).Scan(&one); err != nil {
			return mapErr(op, err)
		}
		var current string
		err := tx.QueryRow(ctx, `SELECT id `+grantQuery+` FOR NO KEY UPDATE`, a.AccountID, a.ClientID, scope(a.Scope)).Scan(&current)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return mapErr(op, err)
		}
		want := ""
		if reuse {
			want = a.ID
		}
		if current != want {
			return fmt.Errorf("postgres: %s: %w: the account's grant to the client changed", op, store.ErrStale)
		}
		b := &pgx.Batch{}
		if reuse {
			b.Queue(`UPDATE authorizations SET updated_at = $2 WHERE id = $1`, a.ID, a.UpdatedAt)
			queueTokens(b, []keyhole.Token{code})
		} else {
			queueAuthorization(b, a, []keyhole.Token{code})
		}
		queueEvents(b, ev)
		return sendBatch(ctx, tx, op, b)
	})
}

// unusedGrant is the condition of DeleteUnusedGrants on the authorization
// a: a grant holding no token but unused codes expired at or before $1.
const unusedGrant = grantWhere + ` AND NOT EXISTS (SELECT 1 FROM tokens t WHERE t.authorization_id = a.id
	AND (t.kind <> 'code' OR t.used_at IS NOT NULL OR t.expires_at IS NULL OR t.expires_at > $1))`

// DeleteUnusedGrants deletes up to limit grants that hold nothing but
// codes that expired unused. It locks them first, skipping those another
// transaction holds (a GrantCode giving one a code, another replica's
// sweep); the delete, a statement of its own with a newer snapshot, then
// checks each again, so that a code given and committed before the lock
// was taken keeps its grant.
func (db *DB) DeleteUnusedGrants(ctx context.Context, before time.Time, limit int) (int64, error) {
	const op = "delete unused grants"
	var n int64
	err := db.tx(ctx, op, func(tx pgx.Tx) error {
		ids, err := list(ctx, tx, op, `SELECT a.id FROM authorizations a WHERE `+unusedGrant+` LIMIT $2 FOR UPDATE SKIP LOCKED`,
			[]any{before, limit}, func(row pgx.Row) (string, error) {
				var id string
				return id, row.Scan(&id)
			})
		if err != nil || len(ids) == 0 {
			return err
		}
		n, err = exec(ctx, tx, op, `DELETE FROM authorizations a WHERE a.id = ANY($2) AND `+unusedGrant, before, ids)
		return err
	})
	return n, err
}

// deleteAccountAuthorizations deletes every authorization of the account
// but keep, with their tokens, and every session but keepSession and
// keep's, within tx.
func deleteAccountAuthorizations(ctx context.Context, tx pgx.Tx, op, accountID, keep, keepSession string) (int, error) {
	var keepsSession pgtype.Text
	if keep != "" {
		err := tx.QueryRow(ctx, `SELECT session_id FROM authorizations WHERE id = $1 AND account_id = $2`, keep, accountID).Scan(&keepsSession)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return 0, mapErr(op, err)
		}
	}
	// Authorizations first, so that those made through a doomed session are
	// counted rather than taken silently by the sessions' cascade.
	n, err := exec(ctx, tx, op, `DELETE FROM authorizations WHERE account_id = $1 AND id <> $2`, accountID, keep)
	if err != nil {
		return 0, err
	}
	// A kept CLI login no longer hangs on a browser session that goes.
	if _, err := exec(ctx, tx, op, `UPDATE sessions SET parent_id = NULL WHERE id = $1 AND parent_id IS DISTINCT FROM $2`, keepsSession, keepSession); err != nil {
		return 0, err
	}
	if _, err := exec(ctx, tx, op, `DELETE FROM sessions WHERE account_id = $1 AND id <> $2 AND id IS DISTINCT FROM $3`, accountID, keepSession, keepsSession); err != nil {
		return 0, err
	}
	return int(n), nil
}

// ---- tokens

const tokenCols = `id, authorization_id, kind, hash, hint, sealed, expires_at, created_at, used_at, redirect_uri, code_challenge, scope, sign_in`

// tokenRow holds the columns of a token as scanned.
type tokenRow struct {
	t             keyhole.Token
	expires, used pgtype.Timestamptz
}

func (r *tokenRow) dest() []any {
	return []any{&r.t.ID, &r.t.AuthorizationID, &r.t.Kind, &r.t.Hash, &r.t.Hint, &r.t.Sealed, &r.expires, &r.t.CreatedAt, &r.used,
		&r.t.RedirectURI, &r.t.CodeChallenge, &r.t.Scope, &r.t.SignIn}
}

func (r *tokenRow) value() keyhole.Token {
	t := r.t
	t.ExpiresAt, t.CreatedAt, t.UsedAt = fromNullTime(r.expires), t.CreatedAt.UTC(), fromNullTime(r.used)
	return t
}

func scanToken(row pgx.Row) (keyhole.Token, error) {
	var r tokenRow
	if err := row.Scan(r.dest()...); err != nil {
		return keyhole.Token{}, err
	}
	return r.value(), nil
}

func queueTokens(b *pgx.Batch, tokens []keyhole.Token) {
	for _, t := range tokens {
		b.Queue(`INSERT INTO tokens (`+tokenCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			t.ID, t.AuthorizationID, string(t.Kind), t.Hash, t.Hint, t.Sealed, nullTime(t.ExpiresAt), t.CreatedAt, nullTime(t.UsedAt),
			t.RedirectURI, t.CodeChallenge, t.Scope, t.SignIn)
	}
}

// Tokens returns every token of the authorizations, oldest first, in one
// query.
func (db *DB) Tokens(ctx context.Context, authorizationIDs ...string) ([]keyhole.Token, error) {
	if len(authorizationIDs) == 0 {
		return []keyhole.Token{}, nil
	}
	return list(ctx, db.pool, "tokens", `SELECT `+tokenCols+` FROM tokens WHERE authorization_id = ANY($1) ORDER BY created_at, id`,
		[]any{authorizationIDs}, scanToken)
}

// ReplaceTokens deletes the authorization's unused tokens of the kinds in
// tokens and inserts tokens, in one transaction. The authorization's row is
// locked first, so that two replacements of one authorization's tokens run
// one after the other and never leave two live tokens of a kind.
func (db *DB) ReplaceTokens(ctx context.Context, authorizationID string, tokens []keyhole.Token, ev ...keyhole.Event) error {
	const op = "replace tokens"
	return db.tx(ctx, op, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM authorizations WHERE id = $1 FOR NO KEY UPDATE`, authorizationID).Scan(&one); err != nil {
			return mapErr(op, err)
		}
		var kinds []string
		for _, t := range tokens {
			kinds = append(kinds, string(t.Kind))
		}
		b := &pgx.Batch{}
		b.Queue(`DELETE FROM tokens WHERE authorization_id = $1 AND used_at IS NULL AND kind = ANY($2)`, authorizationID, kinds)
		queueTokens(b, tokens)
		queueEvents(b, ev)
		return sendBatch(ctx, tx, op, b)
	})
}

// addition is one AddTokens call.
type addition struct {
	a      keyhole.Authorization
	tokens []keyhole.Token
}

// AddTokens inserts tokens into a, creating a first if no authorization
// has its id, in one transaction. Calls made at the same time are written
// in one transaction, one round trip and one commit (store.Group).
func (db *DB) AddTokens(ctx context.Context, a keyhole.Authorization, tokens []keyhole.Token) error {
	const op = "add tokens"
	return db.adds.Do(ctx, addition{a, tokens}, func(batch []addition) []error {
		// The writer serves everyone waiting: its own cancellation must
		// not fail their writes.
		ctx := context.WithoutCancel(ctx)
		write := func(batch []addition) error {
			return db.tx(ctx, op, func(tx pgx.Tx) error {
				// New access tokens need not outlive a crash of the
				// database: one forgotten is refused, and its client asks
				// for another. So the commit does not wait for the
				// write-ahead log to reach the disk.
				b := &pgx.Batch{}
				b.Queue(`SET LOCAL synchronous_commit = off`)
				// Most of a group's tokens are one client's: its
				// authorization is made once.
				made := map[string]bool{}
				for _, x := range batch {
					if a := x.a; !made[a.ID] {
						made[a.ID] = true
						b.Queue(`INSERT INTO authorizations (`+authorizationCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING`,
							a.ID, nullText(a.AccountID), nullText(a.ClientID), nullText(a.SessionID), scope(a.Scope), a.Description, a.Default,
							a.CreatedAt, a.UpdatedAt, nullTime(a.LastUsedAt))
					}
					queueTokens(b, x.tokens)
				}
				return sendBatch(ctx, tx, op, b)
			})
		}
		errs := make([]error, len(batch))
		err := write(batch)
		if err == nil || len(batch) == 1 {
			for i := range errs {
				errs[i] = err
			}
			return errs
		}
		for i := range batch {
			errs[i] = write(batch[i : i+1])
		}
		return errs
	})
}

const tokenAuthorizationQuery = `SELECT
	t.id, t.authorization_id, t.kind, t.hash, t.hint, t.sealed, t.expires_at, t.created_at, t.used_at, t.redirect_uri, t.code_challenge, t.scope, t.sign_in,
	a.id, a.account_id, a.client_id, a.session_id, a.scope, a.description, a.is_default, a.created_at, a.updated_at, a.last_used_at
	FROM tokens t JOIN authorizations a ON a.id = t.authorization_id
	WHERE t.hash = $1`

// TokenByHash returns the token with the hash and its authorization, in
// one query.
func (db *DB) TokenByHash(ctx context.Context, hash string) (keyhole.Token, keyhole.Authorization, error) {
	var t tokenRow
	var a authorizationRow
	if err := db.pool.QueryRow(ctx, tokenAuthorizationQuery, hash).Scan(append(t.dest(), a.dest()...)...); err != nil {
		return keyhole.Token{}, keyhole.Authorization{}, mapErr("token by hash", err)
	}
	return t.value(), a.value(), nil
}

// TokenByHashGuarded is TokenByHash between g's Before and After.
func (db *DB) TokenByHashGuarded(ctx context.Context, hash, key string, g store.Guard) (keyhole.Token, keyhole.Authorization, error) {
	if g == nil {
		return db.TokenByHash(ctx, hash)
	}
	if err := g.Before(ctx, key); err != nil {
		return keyhole.Token{}, keyhole.Authorization{}, err
	}
	t, a, err := db.TokenByHash(ctx, hash)
	g.After(ctx, key, err)
	return t, a, err
}

// UseToken marks the token used at `at` if it was not used before. The
// UPDATE's condition makes concurrent callers wait for the row and find it
// used: exactly one gets it.
func (db *DB) UseToken(ctx context.Context, hash string, kind keyhole.TokenKind, at time.Time) (keyhole.Token, error) {
	const op = "use token"
	t, err := scanToken(db.pool.QueryRow(ctx, `UPDATE tokens SET used_at = $1 WHERE hash = $2 AND kind = $3 AND used_at IS NULL
		RETURNING `+tokenCols, at, hash, string(kind)))
	if !errors.Is(err, pgx.ErrNoRows) {
		return t, mapErr(op, err)
	}
	t, err = scanToken(db.pool.QueryRow(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = $1 AND kind = $2`, hash, string(kind)))
	if err != nil {
		return keyhole.Token{}, mapErr(op, err)
	}
	return t, fmt.Errorf("postgres: %s: %w: already used", op, store.ErrConflict)
}

// RotateRefreshToken rotates one refresh token in one transaction. It
// locks the authorization's row first, in the order ReplaceTokens and
// deletes take locks, so that concurrent rotations of its tokens run one
// after the other. Then one conditional UPDATE decides by the database's
// clock (now(), not a replica's) between a first use, a repeat within the
// grace and a reuse: a caller that waited re-reads the row the winner
// committed and finds it used. Only a first use stores r.Successor, and
// every sealed successor is unique, so the stored one equals it exactly
// then.
func (db *DB) RotateRefreshToken(ctx context.Context, r store.Rotation) (store.RotationResult, error) {
	const op = "rotate refresh token"
	var out store.RotationResult
	if len(r.Successor) == 0 {
		return out, errors.New("postgres: rotate refresh token: the successor is required")
	}
	err := db.tx(ctx, op, func(tx pgx.Tx) error {
		var authID string
		err := tx.QueryRow(ctx, `SELECT a.id FROM authorizations a JOIN tokens t ON t.authorization_id = a.id
			WHERE t.hash = $1 AND t.kind = 'refresh' FOR NO KEY UPDATE OF a`, r.Hash).Scan(&authID)
		if err != nil {
			return mapErr(op, err)
		}
		var successor []byte
		var first bool
		err = tx.QueryRow(ctx, `UPDATE tokens SET
				used_at = COALESCE(used_at, now()),
				successor = CASE WHEN used_at IS NULL THEN $1 ELSE successor END,
				expires_at = CASE WHEN used_at IS NULL THEN LEAST(expires_at, now() + $2 * INTERVAL '1 microsecond') ELSE expires_at END
			WHERE hash = $3 AND kind = 'refresh' AND (used_at IS NULL OR used_at > now() - $4 * INTERVAL '1 microsecond')
			RETURNING successor, COALESCE(successor = $1, false)`,
			r.Successor, r.Retain.Microseconds(), r.Hash, r.Grace.Microseconds()).Scan(&successor, &first)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			out = store.RotationResult{Outcome: store.Reused}
			return nil
		case err != nil:
			return mapErr(op, err)
		case !first:
			out = store.RotationResult{Outcome: store.Repeated, Successor: successor}
			return nil
		}
		b := &pgx.Batch{}
		b.Queue(`DELETE FROM tokens WHERE authorization_id = $1 AND used_at IS NULL AND kind IN ('access', 'refresh')`, authID)
		b.Queue(`DELETE FROM tokens WHERE authorization_id = $1 AND kind = 'refresh' AND used_at IS NOT NULL
			AND id NOT IN (SELECT id FROM tokens WHERE authorization_id = $1 AND kind = 'refresh' AND used_at IS NOT NULL
				ORDER BY used_at DESC, created_at DESC, id LIMIT $2)`, authID, r.Keep)
		queueTokens(b, r.Next)
		if err := sendBatch(ctx, tx, op, b); err != nil {
			return err
		}
		out = store.RotationResult{Outcome: store.Rotated}
		return nil
	})
	return out, err
}

// DeleteToken deletes one token.
func (db *DB) DeleteToken(ctx context.Context, id string) error {
	const op = "delete token"
	n, err := exec(ctx, db.pool, op, `DELETE FROM tokens WHERE id = $1`, id)
	if err == nil && n == 0 {
		err = notFound(op)
	}
	return err
}

// DeleteExpiredTokens deletes up to limit tokens that expire at or before
// before. Rows another replica is sweeping are skipped, not waited for.
func (db *DB) DeleteExpiredTokens(ctx context.Context, before time.Time, limit int) (int64, error) {
	return exec(ctx, db.pool, "delete expired tokens",
		`DELETE FROM tokens WHERE id IN (SELECT id FROM tokens WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, before, limit)
}

// ClearSuccessors forgets up to limit successors of tokens used at least
// grace ago, by the database's clock.
func (db *DB) ClearSuccessors(ctx context.Context, grace time.Duration, limit int) (int64, error) {
	return exec(ctx, db.pool, "clear successors",
		`UPDATE tokens SET successor = NULL WHERE id IN (
			SELECT id FROM tokens WHERE successor IS NOT NULL AND used_at <= now() - $1 * INTERVAL '1 microsecond'
			LIMIT $2 FOR UPDATE SKIP LOCKED)`, grace.Microseconds(), limit)
}
