package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// maxStmts bounds how many distinct queries are kept prepared: queries
// whose text varies (IN lists of varying length) past it run unprepared.
const maxStmts = 256

// stmts prepares each query text once and keeps the statement, so that
// SQLite does not parse and plan the same SQL on every call (with
// database/sql, modernc.org/sqlite otherwise prepares a statement anew
// for each query). database/sql prepares a kept statement on each
// connection the first time it runs there.
type stmts struct {
	db      *sql.DB
	mu      sync.RWMutex
	m       map[string]*sql.Stmt
	pending map[string]bool // being prepared in the background
	bg      sync.WaitGroup  // the background preparations
	closed  bool
}

func newStmts(db *sql.DB) *stmts {
	return &stmts{db: db, m: map[string]*sql.Stmt{}, pending: map[string]bool{}}
}

// get returns the prepared statement for query, or nil when it cannot or
// should not be kept (the caller then runs the query unprepared).
func (s *stmts) get(ctx context.Context, query string) *sql.Stmt {
	s.mu.RLock()
	st := s.m[query]
	s.mu.RUnlock()
	if st != nil {
		return st
	}
	// Prepare without holding the lock: preparing waits for a free
	// connection, which a transaction reading s.m may hold.
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil // the unprepared run reports the error
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if kept := s.m[query]; kept != nil {
		st.Close()
		return kept
	}
	if len(s.m) >= maxStmts || s.closed {
		st.Close()
		return nil
	}
	s.m[query] = st
	return st
}

// close closes the kept statements, once the background preparations
// have ended (so that none opens a connection after the database closes).
func (s *stmts) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.bg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.m {
		st.Close()
	}
	clear(s.m)
}

// ExecContext runs query prepared.
func (s *stmts) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := s.get(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return s.db.ExecContext(ctx, query, args...)
}

// QueryContext runs query prepared.
func (s *stmts) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := s.get(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return s.db.QueryContext(ctx, query, args...)
}

// QueryRowContext runs query prepared.
func (s *stmts) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := s.get(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return s.db.QueryRowContext(ctx, query, args...)
}

// kept returns the statement kept for query, if there is one; if not, it
// has it prepared in the background and returns nil. A transaction holds
// its connection, and in SQLite the write lock: preparing on another
// connection from within it could wait for a connection that waits for
// the lock.
func (s *stmts) kept(query string) *sql.Stmt {
	s.mu.Lock()
	st, ok := s.m[query]
	start := !ok && len(s.m) < maxStmts && !s.closed && !s.pending[query]
	if start {
		s.pending[query] = true
		s.bg.Add(1)
	}
	s.mu.Unlock()
	if start {
		go func() {
			defer s.bg.Done()
			s.get(context.Background(), query)
			s.mu.Lock()
			delete(s.pending, query)
			s.mu.Unlock()
		}()
	}
	return st
}

// txStmts runs the kept statements within a transaction (on its
// connection, where database/sql prepares them once).
type txStmts struct {
	tx *sql.Tx
	s  *stmts
}

func (t txStmts) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.s.kept(query); st != nil {
		return t.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

func (t txStmts) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.s.kept(query); st != nil {
		return t.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

func (t txStmts) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.s.kept(query); st != nil {
		return t.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}
