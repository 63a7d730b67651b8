package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// bareCommand is the hidden first argument that makes this program the
// bare handler: the baseline every Keyhole figure is a ratio to. It runs
// as a process of its own, as Keyhole does, so that the two are measured
// alike (CPU, peak RSS) and neither shares a heap with the load generator.
const bareCommand = "bare-handler"

// bareAccount is the body the bare handler answers, padded to the size of
// Keyhole's GET /account answer.
type bareAccount struct {
	ID      string `json:"id"`
	Email   string `json:"email"`
	Padding string `json:"padding"`
}

// runBare serves GET /account with plain net/http: a request bearing one of
// the tokens read from stdin (one a line; SHA-256 looked up in a map, as a
// server that stores token hashes would) gets a JSON body of --size bytes,
// encoded for every request; any other request gets 401. It prints where
// it listens, then serves until ctx ends.
func runBare(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(bareCommand, flag.ContinueOnError)
	fs.SetOutput(stderr)
	size := fs.Int("size", 600, "size in bytes of the JSON body of GET /account")
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	accounts := map[[32]byte]bareAccount{}
	sc := bufio.NewScanner(stdin)
	for i := 0; sc.Scan(); i++ {
		if tok := strings.TrimSpace(sc.Text()); tok != "" {
			a := bareAccount{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), Email: fmt.Sprintf("bench%d@example.com", i+1)}
			b, _ := json.Marshal(a)
			a.Padding = strings.Repeat("x", max(*size-len(b), 0))
			accounts[sha256.Sum256([]byte(tok))] = a
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read tokens: %w", err)
	}
	if len(accounts) == 0 {
		return errors.New("no tokens on standard input")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("GET /account", func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		a, known := accounts[sha256.Sum256([]byte(tok))]
		if !ok || !known {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"id":"unauthorized","message":"Invalid credentials provided."}`)
			return
		}
		b, err := json.Marshal(a)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	fmt.Fprintf(stdout, "%s http://%s\n", servingLine, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}
