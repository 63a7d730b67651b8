package keyholetest

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	khmail "github.com/keyhole/keyhole/internal/mail"
)

// Mail is a message as a mailbox received it.
type Mail struct {
	File          string
	To, Subject   string
	Body          string
	Header        mail.Header
	ContentType   string
	TransferCoded string
}

var linkRe = regexp.MustCompile(`https?://[^\s<>"]+`)

// Link returns the first URL of the body that contains part, or "".
func (m Mail) Link(part string) string {
	for _, u := range linkRe.FindAllString(m.Body, -1) {
		if strings.Contains(u, part) {
			return u
		}
	}
	return ""
}

// parseMail reads one RFC 5322 message.
func parseMail(file string, b []byte) (Mail, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		return Mail{}, err
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return Mail{}, err
	}
	var body io.Reader = msg.Body
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(body)
	}
	text, err := io.ReadAll(body)
	if err != nil {
		return Mail{}, err
	}
	to := msg.Header.Get("To")
	if a, err := mail.ParseAddress(to); err == nil {
		to = a.Address
	}
	return Mail{File: file, To: to, Subject: subject, Body: strings.ReplaceAll(string(text), "\r\n", "\n"), Header: msg.Header,
		ContentType: msg.Header.Get("Content-Type"), TransferCoded: msg.Header.Get("Content-Transfer-Encoding")}, nil
}

// Mailbox reads the messages a folder holds (an outbox, or a maildir's
// new/), and hands each out once.
type Mailbox struct {
	dirs []string
	mu   sync.Mutex
	seen map[string]bool
}

// NewMailbox reads the messages files in dirs.
func NewMailbox(dirs ...string) *Mailbox { return &Mailbox{dirs: dirs, seen: map[string]bool{}} }

// All returns every message received so far, oldest first.
func (b *Mailbox) All(tb testing.TB) []Mail {
	tb.Helper()
	type file struct {
		path string
		mod  time.Time
	}
	var files []file
	for _, d := range b.dirs {
		entries, err := os.ReadDir(d)
		if err != nil && !os.IsNotExist(err) {
			tb.Fatal(err)
		}
		for _, e := range entries {
			if info, err := e.Info(); err == nil && !e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
				files = append(files, file{filepath.Join(d, e.Name()), info.ModTime()})
			}
		}
	}
	slices.SortFunc(files, func(a, b file) int {
		if c := a.mod.Compare(b.mod); c != 0 {
			return c
		}
		return strings.Compare(a.path, b.path)
	})
	var out []Mail
	for _, f := range files {
		raw, err := os.ReadFile(f.path)
		if err != nil {
			tb.Fatal(err)
		}
		m, err := parseMail(f.path, raw)
		if err != nil {
			tb.Fatalf("%s: %v", f.path, err)
		}
		out = append(out, m)
	}
	return out
}

// Take waits up to 10 seconds (mail is sent in the background) for a
// message to the address whose subject contains subject and that Take did
// not return before, and returns it; the test fails without one.
func (b *Mailbox) Take(tb testing.TB, to, subject string) Mail {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		b.mu.Lock()
		for _, m := range b.All(tb) {
			if !b.seen[m.File] && strings.EqualFold(m.To, to) && strings.Contains(m.Subject, subject) {
				b.seen[m.File] = true
				b.mu.Unlock()
				return m
			}
		}
		b.mu.Unlock()
		if time.Now().After(deadline) {
			var got []string
			for _, m := range b.All(tb) {
				got = append(got, m.To+": "+m.Subject)
			}
			tb.Fatalf("no mail to %s about %q within 10s; the mailbox has %q", to, subject, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Mail is the server's outbox as a mailbox.
func (s *Server) Mail() *Mailbox {
	if s.mailbox == nil {
		s.mailbox = NewMailbox(s.Outbox)
	}
	return s.mailbox
}

// SMTPServer is a real SMTP server for a test: Debian's aiosmtpd, saving
// what it receives into a maildir.
type SMTPServer struct {
	Addr string
	*Mailbox
	// TLS, when the server was started with a certificate, is what a
	// client must trust to talk STARTTLS with it.
	TLS *tls.Config
}

// aiosmtpdPython is Debian's Python, for which python3-aiosmtpd is
// installed (another python3 may come first on PATH).
const aiosmtpdPython = "/usr/bin/python3"

// StartSMTP runs `python3 -m aiosmtpd` on a free loopback port until the
// test ends. It skips the test when aiosmtpd is not installed, and fails
// it in CI (CI=true), where .ci/run installs python3-aiosmtpd. With cert
// and key files (PEM), the server offers STARTTLS.
func StartSMTP(tb testing.TB, certFile, keyFile string) *SMTPServer {
	tb.Helper()
	if err := exec.Command(aiosmtpdPython, "-c", "import aiosmtpd").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("python3-aiosmtpd is not installed for %s: %v", aiosmtpdPython, err)
		}
		tb.Skipf("python3-aiosmtpd is not installed for %s (apt-get install python3-aiosmtpd)", aiosmtpdPython)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := filepath.Join(tb.TempDir(), "maildir")
	args := []string{"-m", "aiosmtpd", "-n", "-l", addr}
	if certFile != "" {
		args = append(args, "--tlscert", certFile, "--tlskey", keyFile, "--no-requiretls")
	}
	args = append(args, "-c", "aiosmtpd.handlers.Mailbox", dir)
	cmd := exec.Command(aiosmtpdPython, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("aiosmtpd did not listen on %s: %v\n%s", addr, err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return &SMTPServer{Addr: addr, Mailbox: NewMailbox(filepath.Join(dir, "new"), filepath.Join(dir, "cur"))}
}

// Sender is a mail.SMTP delivering to the server.
func (m *SMTPServer) Sender() *khmail.SMTP {
	return &khmail.SMTP{Addr: m.Addr, From: "Keyhole <keyhole@example.com>", TLS: m.TLS}
}

func (m *SMTPServer) String() string { return fmt.Sprintf("aiosmtpd on %s", m.Addr) }
