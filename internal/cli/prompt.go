package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/term"
)

func isTerminal(fd int) bool { return term.IsTerminal(fd) }

// prompter reads answers from standard input: lines when it is a pipe or
// a file, and secrets without echo when it is a terminal.
type prompter struct {
	in     io.Reader
	r      *bufio.Reader
	stderr io.Writer
}

func newPrompter(env Env) *prompter {
	return &prompter{in: env.Stdin, r: bufio.NewReader(io.LimitReader(env.Stdin, 64<<10)), stderr: env.Stderr}
}

// line asks for one line. On a terminal the question goes to standard
// error; from a pipe it is read silently.
func (p *prompter) line(question string) (string, error) {
	if _, tty := stdinTerminal(p.in); tty {
		fmt.Fprint(p.stderr, question)
	}
	s, err := p.r.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read %s: %w", strings.TrimSuffix(strings.TrimSpace(question), ":"), err)
	}
	s = strings.TrimRight(s, "\r\n")
	if s == "" && errors.Is(err, io.EOF) {
		return "", fmt.Errorf("no %s on standard input", strings.ToLower(strings.TrimSuffix(strings.TrimSpace(question), ":")))
	}
	return s, nil
}

// secret asks for a secret: without echo on a terminal, else one line of
// standard input.
func (p *prompter) secret(question string) (string, error) {
	fd, tty := stdinTerminal(p.in)
	if !tty {
		return p.line(question)
	}
	fmt.Fprint(p.stderr, question)
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(p.stderr)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", strings.ToLower(strings.TrimSuffix(strings.TrimSpace(question), ":")), err)
	}
	return string(b), nil
}
