package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

const authorizationCols = `id, account_id, client_id, session_id, scope, description, is_default, created_at, updated_at, last_used_at`

func scanAuthorization(row interface{ Scan(...any) error }) (keyhole.Authorization, error) {
	var a keyhole.Authorization
	var account, client, session sql.NullString
	var scope string
	var created, updated int64
	var used sql.NullInt64
	if err := row.Scan(&a.ID, &account, &client, &session, &scope, &a.Description, &a.Default, &created, &updated, &used); err != nil {
		return keyhole.Authorization{}, mapErr(err)
	}
	a.AccountID, a.ClientID, a.SessionID = account.String, client.String, session.String
	a.Scope, a.CreatedAt, a.UpdatedAt, a.LastUsedAt = splitScope(scope), fromMicros(created), fromMicros(updated), fromNullMicros(used)
	return a, nil
}

func insertAuthorization(ctx context.Context, q queryer, a keyhole.Authorization, tokens []keyhole.Token) error {
	_, err := q.ExecContext(ctx, `INSERT INTO authorizations (`+authorizationCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, nullString(a.AccountID), nullString(a.ClientID), nullString(a.SessionID), joinScope(a.Scope), a.Description, a.Default,
		micros(a.CreatedAt), micros(a.UpdatedAt), nullMicros(a.LastUsedAt))
	if err != nil {
		return mapErr(err)
	}
	return insertTokens(ctx, q, tokens)
}

// CreateAuthorization inserts a and its tokens atomically.
func (s *DB) CreateAuthorization(ctx context.Context, a keyhole.Authorization, tokens []keyhole.Token, ev ...keyhole.Event) error {
	return s.tx(ctx, func(tx queryer) error {
		if err := insertAuthorization(ctx, tx, a, tokens); err != nil {
			return err
		}
		return insertEvents(ctx, tx, ev)
	})
}

// Authorization returns the authorization with the id.
func (s *DB) Authorization(ctx context.Context, id string) (keyhole.Authorization, error) {
	return scanAuthorization(s.run.QueryRowContext(ctx, `SELECT `+authorizationCols+` FROM authorizations WHERE id = ?`, id))
}

// DefaultAuthorization returns the account's API key authorization.
func (s *DB) DefaultAuthorization(ctx context.Context, accountID string) (keyhole.Authorization, error) {
	return scanAuthorization(s.run.QueryRowContext(ctx, `SELECT `+authorizationCols+` FROM authorizations WHERE account_id = ? AND is_default`, accountID))
}

// ListAuthorizations returns the account's authorizations.
func (s *DB) ListAuthorizations(ctx context.Context, accountID string, r store.Range) ([]keyhole.Authorization, error) {
	tail, args, err := page(r, idOnly)
	if err != nil {
		return nil, err
	}
	rows, err := s.run.QueryContext(ctx, `SELECT `+authorizationCols+` FROM authorizations WHERE account_id = ?`+tail, append([]any{accountID}, args...)...)
	if err != nil {
		return nil, mapErr(err)
	}
	return collect(rows, scanAuthorization)
}

// UpdateAuthorization writes Description, Scope and UpdatedAt.
func (s *DB) UpdateAuthorization(ctx context.Context, id string, fn func(*keyhole.Authorization) error) (keyhole.Authorization, error) {
	var out keyhole.Authorization
	err := s.tx(ctx, func(tx queryer) error {
		a, err := scanAuthorization(tx.QueryRowContext(ctx, `SELECT `+authorizationCols+` FROM authorizations WHERE id = ?`, id))
		if err != nil {
			return err
		}
		orig := a
		if err := fn(&a); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE authorizations SET description = ?, scope = ?, updated_at = ? WHERE id = ?`,
			a.Description, joinScope(a.Scope), micros(a.UpdatedAt), id); err != nil {
			return mapErr(err)
		}
		orig.Description, orig.Scope, orig.UpdatedAt = a.Description, a.Scope, a.UpdatedAt
		out = orig
		return nil
	})
	return out, err
}

// DeleteAuthorization deletes the authorization and its tokens.
func (s *DB) DeleteAuthorization(ctx context.Context, id string, ev ...keyhole.Event) error {
	return s.tx(ctx, func(tx queryer) error {
		if err := execOne(ctx, tx, `DELETE FROM authorizations WHERE id = ?`, id); err != nil {
			return err
		}
		return insertEvents(ctx, tx, ev)
	})
}

// TouchAuthorization stamps the authorization's last use, at most once
// every `every`.
func (s *DB) TouchAuthorization(ctx context.Context, id string, at time.Time, every time.Duration) error {
	return s.tx(ctx, func(tx queryer) error {
		_, err := tx.ExecContext(ctx, `UPDATE authorizations SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)`,
			micros(at), id, micros(at.Add(-every)))
		return mapErr(err)
	})
}

// grantWhere picks the grants: authorizations of an account to a client,
// made by consent (no session, not the API key).
const grantWhere = `account_id IS NOT NULL AND client_id IS NOT NULL AND session_id IS NULL AND NOT is_default`

// grantQuery finds the account's grant of a scope to a client
// (authorizations_grant).
const grantQuery = `FROM authorizations WHERE account_id = ? AND client_id = ? AND scope = ? AND ` + grantWhere + `
	ORDER BY updated_at DESC, id DESC LIMIT 1`

// Grant returns the account's grant of exactly scope to the client.
func (s *DB) Grant(ctx context.Context, accountID, clientID string, scope []string) (keyhole.Authorization, error) {
	return scanAuthorization(s.run.QueryRowContext(ctx, `SELECT `+authorizationCols+` `+grantQuery, accountID, clientID, joinScope(scope)))
}

// GrantCode gives the account's grant the code, or inserts a with it, if
// the grant is still what the caller found. Write transactions run one
// at a time, so the check and the write cannot be interleaved.
func (s *DB) GrantCode(ctx context.Context, a keyhole.Authorization, reuse bool, code keyhole.Token, ev ...keyhole.Event) error {
	return s.tx(ctx, func(tx queryer) error {
		var current string
		err := tx.QueryRowContext(ctx, `SELECT id `+grantQuery, a.AccountID, a.ClientID, joinScope(a.Scope)).Scan(&current)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return mapErr(err)
		}
		want := ""
		if reuse {
			want = a.ID
		}
		if current != want {
			return fmt.Errorf("%w: the account's grant to the client changed", store.ErrStale)
		}
		if reuse {
			if _, err := tx.ExecContext(ctx, `UPDATE authorizations SET updated_at = ? WHERE id = ?`, micros(a.UpdatedAt), a.ID); err != nil {
				return mapErr(err)
			}
			err = insertTokens(ctx, tx, []keyhole.Token{code})
		} else {
			err = insertAuthorization(ctx, tx, a, []keyhole.Token{code})
		}
		if err != nil {
			return err
		}
		return insertEvents(ctx, tx, ev)
	})
}

// unusedGrant is the condition of DeleteUnusedGrants on the authorization
// a: a grant holding no token but unused codes expired at or before ?.
const unusedGrant = grantWhere + ` AND NOT EXISTS (SELECT 1 FROM tokens t WHERE t.authorization_id = a.id
	AND (t.kind != 'code' OR t.used_at IS NOT NULL OR t.expires_at IS NULL OR t.expires_at > ?))`

// DeleteUnusedGrants deletes up to limit grants that hold nothing but
// codes that expired unused. The candidates are found before the write
// transaction, so that the scan does not hold the database's one writer;
// the delete checks each again.
func (s *DB) DeleteUnusedGrants(ctx context.Context, before time.Time, limit int) (int64, error) {
	rows, err := s.run.QueryContext(ctx, `SELECT a.id FROM authorizations a WHERE `+unusedGrant+` LIMIT ?`, micros(before), limit)
	if err != nil {
		return 0, mapErr(err)
	}
	ids, err := collect(rows, func(row interface{ Scan(...any) error }) (string, error) {
		var id string
		return id, row.Scan(&id)
	})
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return 0, err
	}
	return s.deleteBatch(ctx, `DELETE FROM authorizations AS a WHERE a.id IN (SELECT value FROM json_each(?)) AND `+unusedGrant, string(list), micros(before))
}

// deleteAccountAuthorizations deletes every authorization of the account
// but keep, and every session but keepSession and keep's, within tx.
func deleteAccountAuthorizations(ctx context.Context, tx queryer, accountID, keep, keepSession string) (int, error) {
	var keepsSession sql.NullString
	if keep != "" {
		err := tx.QueryRowContext(ctx, `SELECT session_id FROM authorizations WHERE id = ? AND account_id = ?`, keep, accountID).Scan(&keepsSession)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return 0, mapErr(err)
		}
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM authorizations WHERE account_id = ? AND id != ?`, accountID, keep)
	if err != nil {
		return 0, mapErr(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	// A kept CLI login no longer hangs on a browser session that goes.
	if _, err := tx.ExecContext(ctx, `UPDATE sessions SET parent_id = NULL WHERE id = ? AND parent_id IS NOT ?`, keepsSession.String, keepSession); err != nil {
		return 0, mapErr(err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE account_id = ? AND id != ? AND id != ?`, accountID, keepSession, keepsSession.String); err != nil {
		return 0, mapErr(err)
	}
	return int(n), nil
}

// ---- tokens

const tokenCols = `id, authorization_id, kind, hash, hint, sealed, expires_at, created_at, used_at, redirect_uri, code_challenge, scope, sign_in`

// nowMicros is the database's own clock, in the microseconds times are
// stored in.
const nowMicros = `CAST(unixepoch('subsec') * 1000000 AS INTEGER)`

func scanToken(row interface{ Scan(...any) error }) (keyhole.Token, error) {
	var t keyhole.Token
	var kind string
	var expires, used sql.NullInt64
	var created int64
	var scope, signIn sql.NullString
	if err := row.Scan(&t.ID, &t.AuthorizationID, &kind, &t.Hash, &t.Hint, &t.Sealed, &expires, &created, &used, &t.RedirectURI, &t.CodeChallenge, &scope, &signIn); err != nil {
		return keyhole.Token{}, mapErr(err)
	}
	t.Kind, t.ExpiresAt, t.CreatedAt, t.UsedAt = keyhole.TokenKind(kind), fromNullMicros(expires), fromMicros(created), fromNullMicros(used)
	if scope.Valid {
		t.Scope = splitScope(scope.String)
	}
	var err error
	t.SignIn, err = readSignIn(signIn)
	return t, err
}

// nullSignIn stores a token's sign-in as JSON; nil is NULL.
func nullSignIn(si *keyhole.SignIn) (sql.NullString, error) {
	if si == nil {
		return sql.NullString{}, nil
	}
	b, err := json.Marshal(si)
	return sql.NullString{String: string(b), Valid: true}, err
}

func readSignIn(v sql.NullString) (*keyhole.SignIn, error) {
	if !v.Valid {
		return nil, nil
	}
	si := new(keyhole.SignIn)
	if err := json.Unmarshal([]byte(v.String), si); err != nil {
		return nil, fmt.Errorf("token sign-in: %w", err)
	}
	return si, nil
}

// nullScope stores a token's own scope; nil is NULL.
func nullScope(s []string) sql.NullString {
	return sql.NullString{String: joinScope(s), Valid: s != nil}
}

func insertTokens(ctx context.Context, q queryer, tokens []keyhole.Token) error {
	for _, t := range tokens {
		signIn, err := nullSignIn(t.SignIn)
		if err != nil {
			return err
		}
		_, err = q.ExecContext(ctx, `INSERT INTO tokens (`+tokenCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.AuthorizationID, string(t.Kind), t.Hash, t.Hint, t.Sealed, nullMicros(t.ExpiresAt), micros(t.CreatedAt),
			nullMicros(t.UsedAt), t.RedirectURI, t.CodeChallenge, nullScope(t.Scope), signIn)
		if err != nil {
			return mapErr(err)
		}
	}
	return nil
}

// Tokens returns every token of the authorizations, oldest first.
func (s *DB) Tokens(ctx context.Context, authorizationIDs ...string) ([]keyhole.Token, error) {
	if len(authorizationIDs) == 0 {
		return []keyhole.Token{}, nil
	}
	args := make([]any, len(authorizationIDs))
	for i, id := range authorizationIDs {
		args[i] = id
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(args)), ", ")
	rows, err := s.run.QueryContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE authorization_id IN (`+marks+`) ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	return collect(rows, scanToken)
}

// ReplaceTokens deletes the unused tokens of the kinds given and inserts
// tokens, atomically.
func (s *DB) ReplaceTokens(ctx context.Context, authorizationID string, tokens []keyhole.Token, ev ...keyhole.Event) error {
	return s.tx(ctx, func(tx queryer) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM authorizations WHERE id = ?`, authorizationID).Scan(&one); err != nil {
			return mapErr(err)
		}
		kinds := map[keyhole.TokenKind]bool{}
		for _, t := range tokens {
			if kinds[t.Kind] {
				continue
			}
			kinds[t.Kind] = true
			if _, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE authorization_id = ? AND kind = ? AND used_at IS NULL`, authorizationID, string(t.Kind)); err != nil {
				return mapErr(err)
			}
		}
		if err := insertTokens(ctx, tx, tokens); err != nil {
			return err
		}
		return insertEvents(ctx, tx, ev)
	})
}

// addition is one AddTokens call.
type addition struct {
	a      keyhole.Authorization
	tokens []keyhole.Token
}

// AddTokens inserts tokens into a, creating a if it does not exist. Calls
// made at the same time are written in one transaction (store.Group).
func (s *DB) AddTokens(ctx context.Context, a keyhole.Authorization, tokens []keyhole.Token) error {
	return s.adds.Do(ctx, addition{a, tokens}, func(batch []addition) []error {
		// The writer serves everyone waiting: its own cancellation must
		// not fail their writes.
		ctx := context.WithoutCancel(ctx)
		errs := make([]error, len(batch))
		err := s.tx(ctx, func(tx queryer) error {
			// Most of a group's tokens are one client's: its authorization
			// is made once.
			made := map[string]bool{}
			for _, b := range batch {
				if err := addTokens(ctx, tx, b, !made[b.a.ID]); err != nil {
					return err
				}
				made[b.a.ID] = true
			}
			return nil
		})
		if err == nil || len(batch) == 1 {
			for i := range errs {
				errs[i] = err
			}
			return errs
		}
		for i, b := range batch {
			errs[i] = s.tx(ctx, func(tx queryer) error { return addTokens(ctx, tx, b, true) })
		}
		return errs
	})
}

func addTokens(ctx context.Context, tx queryer, b addition, makeAuthorization bool) error {
	if a := b.a; makeAuthorization {
		_, err := tx.ExecContext(ctx, `INSERT INTO authorizations (`+authorizationCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`,
			a.ID, nullString(a.AccountID), nullString(a.ClientID), nullString(a.SessionID), joinScope(a.Scope), a.Description, a.Default,
			micros(a.CreatedAt), micros(a.UpdatedAt), nullMicros(a.LastUsedAt))
		if err != nil {
			return mapErr(err)
		}
	}
	return insertTokens(ctx, tx, b.tokens)
}

const tokenAuthSelect = `SELECT t.id, t.authorization_id, t.kind, t.hash, t.hint, t.sealed, t.expires_at, t.created_at, t.used_at, t.redirect_uri, t.code_challenge, t.scope, t.sign_in,
	a.id, a.account_id, a.client_id, a.session_id, a.scope, a.description, a.is_default, a.created_at, a.updated_at, a.last_used_at
	FROM tokens t JOIN authorizations a ON a.id = t.authorization_id WHERE t.hash = ?`

// TokenByHash returns the token with the hash and its authorization.
func (s *DB) TokenByHash(ctx context.Context, hash string) (keyhole.Token, keyhole.Authorization, error) {
	var t keyhole.Token
	var a keyhole.Authorization
	var kind string
	var expires, used, lastUsed sql.NullInt64
	var tCreated, aCreated, aUpdated int64
	var account, client, session, tScope, signIn sql.NullString
	var scope string
	err := s.run.QueryRowContext(ctx, tokenAuthSelect, hash).Scan(
		&t.ID, &t.AuthorizationID, &kind, &t.Hash, &t.Hint, &t.Sealed, &expires, &tCreated, &used, &t.RedirectURI, &t.CodeChallenge, &tScope, &signIn,
		&a.ID, &account, &client, &session, &scope, &a.Description, &a.Default, &aCreated, &aUpdated, &lastUsed)
	if err != nil {
		return keyhole.Token{}, keyhole.Authorization{}, mapErr(err)
	}
	t.Kind, t.ExpiresAt, t.CreatedAt, t.UsedAt = keyhole.TokenKind(kind), fromNullMicros(expires), fromMicros(tCreated), fromNullMicros(used)
	if tScope.Valid {
		t.Scope = splitScope(tScope.String)
	}
	if t.SignIn, err = readSignIn(signIn); err != nil {
		return keyhole.Token{}, keyhole.Authorization{}, err
	}
	a.AccountID, a.ClientID, a.SessionID = account.String, client.String, session.String
	a.Scope, a.CreatedAt, a.UpdatedAt, a.LastUsedAt = splitScope(scope), fromMicros(aCreated), fromMicros(aUpdated), fromNullMicros(lastUsed)
	return t, a, nil
}

// TokenByHashGuarded is TokenByHash between g's Before and After.
func (s *DB) TokenByHashGuarded(ctx context.Context, hash, key string, g store.Guard) (keyhole.Token, keyhole.Authorization, error) {
	if g == nil {
		return s.TokenByHash(ctx, hash)
	}
	if err := g.Before(ctx, key); err != nil {
		return keyhole.Token{}, keyhole.Authorization{}, err
	}
	t, a, err := s.TokenByHash(ctx, hash)
	g.After(ctx, key, err)
	return t, a, err
}

// UseToken marks the token used, once.
func (s *DB) UseToken(ctx context.Context, hash string, kind keyhole.TokenKind, at time.Time) (keyhole.Token, error) {
	var t keyhole.Token
	err := s.tx(ctx, func(tx queryer) error {
		var err error
		t, err = scanToken(tx.QueryRowContext(ctx, `UPDATE tokens SET used_at = ? WHERE hash = ? AND kind = ? AND used_at IS NULL RETURNING `+tokenCols,
			micros(at), hash, string(kind)))
		if err == nil || !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if t, err = scanToken(tx.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = ? AND kind = ?`, hash, string(kind))); err != nil {
			return err
		}
		return fmt.Errorf("%w: token already used", store.ErrConflict)
	})
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return keyhole.Token{}, err
	}
	return t, err
}

// RotateRefreshToken rotates one refresh token. Write transactions take the
// database's lock at BEGIN (_txlock=immediate), so concurrent rotations run
// one after the other; the conditional UPDATE decides, by the database's
// clock, between a first use, a repeat within the grace and a reuse. Only
// a first use stores r.Successor, and every sealed successor is unique, so
// the stored one equals it exactly then.
func (s *DB) RotateRefreshToken(ctx context.Context, r store.Rotation) (store.RotationResult, error) {
	var out store.RotationResult
	if len(r.Successor) == 0 {
		return out, errors.New("sqlite: rotate refresh token: the successor is required")
	}
	err := s.tx(ctx, func(tx queryer) error {
		var id, authID string
		var successor []byte
		var first bool
		err := tx.QueryRowContext(ctx, `UPDATE tokens SET
				used_at = COALESCE(used_at, `+nowMicros+`),
				successor = CASE WHEN used_at IS NULL THEN ?1 ELSE successor END,
				expires_at = CASE WHEN used_at IS NULL THEN MIN(COALESCE(expires_at, 9223372036854775807), `+nowMicros+` + ?2) ELSE expires_at END
			WHERE hash = ?3 AND kind = 'refresh' AND (used_at IS NULL OR used_at > `+nowMicros+` - ?4)
			RETURNING id, authorization_id, successor, COALESCE(successor = ?1, 0)`,
			r.Successor, r.Retain.Microseconds(), r.Hash, r.Grace.Microseconds()).Scan(&id, &authID, &successor, &first)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM tokens WHERE hash = ? AND kind = 'refresh'`, r.Hash).Scan(&one); err != nil {
				return mapErr(err)
			}
			out = store.RotationResult{Outcome: store.Reused}
			return nil
		case err != nil:
			return mapErr(err)
		case !first:
			out = store.RotationResult{Outcome: store.Repeated, Successor: successor}
			return nil
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE authorization_id = ? AND used_at IS NULL AND kind IN ('access', 'refresh')`, authID); err != nil {
			return mapErr(err)
		}
		// The database's clock counts milliseconds: rotations within one
		// share a used_at, so the token just used is kept first, whatever
		// the tie.
		if _, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE authorization_id = ?1 AND kind = 'refresh' AND used_at IS NOT NULL
			AND id NOT IN (SELECT id FROM tokens WHERE authorization_id = ?1 AND kind = 'refresh' AND used_at IS NOT NULL ORDER BY used_at DESC, created_at DESC, id LIMIT ?2)`,
			authID, r.Keep); err != nil {
			return mapErr(err)
		}
		if err := insertTokens(ctx, tx, r.Next); err != nil {
			return err
		}
		out = store.RotationResult{Outcome: store.Rotated}
		return nil
	})
	return out, err
}

// DeleteToken deletes one token.
func (s *DB) DeleteToken(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx queryer) error { return execOne(ctx, tx, `DELETE FROM tokens WHERE id = ?`, id) })
}

// DeleteExpiredTokens deletes up to limit tokens that expired at or before
// before.
func (s *DB) DeleteExpiredTokens(ctx context.Context, before time.Time, limit int) (int64, error) {
	return s.deleteBatch(ctx, `DELETE FROM tokens WHERE id IN (SELECT id FROM tokens WHERE expires_at IS NOT NULL AND expires_at <= ? LIMIT ?)`,
		micros(before), limit)
}

// ClearSuccessors forgets up to limit successors of tokens used at least
// grace ago, by the database's clock.
func (s *DB) ClearSuccessors(ctx context.Context, grace time.Duration, limit int) (int64, error) {
	return s.deleteBatch(ctx, `UPDATE tokens SET successor = NULL WHERE id IN (
		SELECT id FROM tokens WHERE successor IS NOT NULL AND used_at <= `+nowMicros+` - ? LIMIT ?)`, grace.Microseconds(), limit)
}
