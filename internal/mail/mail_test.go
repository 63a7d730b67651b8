package mail_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/mail"
)

var msg = mail.Message{
	To: "ada@example.com", Subject: "Keyhole: réinitialiser",
	Body: "Open this link:\nhttps://id.example/password/reset?token=khp_secret=value\nThat is all, über long line " + strings.Repeat("x", 100),
}

func check(t *testing.T, m keyholetest.Mail) {
	t.Helper()
	if m.To != msg.To || m.Subject != msg.Subject || !strings.Contains(m.Body, "token=khp_secret=value") || !strings.Contains(m.Body, "über long line "+strings.Repeat("x", 100)) {
		t.Errorf("received %+v", m)
	}
	if m.ContentType != "text/plain; charset=utf-8" || m.TransferCoded != "quoted-printable" {
		t.Errorf("Content-Type %q, Content-Transfer-Encoding %q", m.ContentType, m.TransferCoded)
	}
}

// TestOutbox: the default sender writes whole messages readable by their
// owner only, in a folder only the owner can enter.
func TestOutbox(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	o := &mail.Outbox{Dir: dir, From: "Keyhole <keyhole@example.com>"}
	if err := o.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(files) != 1 {
		t.Fatalf("files = %v", files)
	}
	fi, _ := os.Stat(files[0])
	di, _ := os.Stat(dir)
	if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
		t.Errorf("modes: file %v, folder %v; want 0600 and 0700", fi.Mode().Perm(), di.Mode().Perm())
	}
	check(t, keyholetest.NewMailbox(dir).Take(t, msg.To, "réinitialiser"))
}

// TestFormatRefusesHeaderInjection: a line break in the subject or an
// address that does not parse cannot add headers.
func TestFormatRefusesHeaderInjection(t *testing.T) {
	for _, m := range []mail.Message{
		{To: "ada@example.com", Subject: "hi\r\nBcc: eve@example.com"},
		{To: "ada@example.com\r\nBcc: eve@example.com", Subject: "hi"},
		{To: "not an address", Subject: "hi"},
	} {
		if _, err := mail.Format("keyhole@example.com", m, time.Now()); err == nil {
			t.Errorf("Format(%q, %q) accepted it", m.To, m.Subject)
		}
	}
}

// TestSMTP delivers through a real SMTP server (Debian's aiosmtpd), plain
// and upgraded with STARTTLS.
func TestSMTP(t *testing.T) {
	t.Run("plain", func(t *testing.T) {
		srv := keyholetest.StartSMTP(t, "", "")
		if err := srv.Sender().Send(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
		check(t, srv.Take(t, msg.To, "réinitialiser"))
	})
	t.Run("STARTTLS", func(t *testing.T) {
		certFile, keyFile, pool := selfSigned(t)
		srv := keyholetest.StartSMTP(t, certFile, keyFile)
		// A sender that does not trust the certificate refuses to go on:
		// it never falls back to plain text once STARTTLS is offered.
		if err := srv.Sender().Send(context.Background(), msg); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
			t.Fatalf("untrusted certificate: err = %v, want a STARTTLS failure", err)
		}
		s := srv.Sender()
		s.TLS = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
		if err := s.Send(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
		check(t, srv.Take(t, msg.To, "réinitialiser"))
	})
}

// TestParseSMTPURL reads the --smtp-url forms, and never repeats the
// password in an error.
func TestParseSMTPURL(t *testing.T) {
	for _, tc := range []struct {
		raw, addr, user, pass string
		implicit              bool
	}{
		{"smtp://mail.example.com", "mail.example.com:587", "", "", false},
		{"smtp://u%40x:p%3Ass@mail.example.com:2525", "mail.example.com:2525", "u@x", "p:ss", false},
		{"smtps://u:p@mail.example.com", "mail.example.com:465", "u", "p", true},
	} {
		s, err := mail.ParseSMTPURL(tc.raw, "keyhole@example.com")
		if err != nil || s.Addr != tc.addr || s.User != tc.user || s.Password != tc.pass || s.Implicit != tc.implicit {
			t.Errorf("ParseSMTPURL(%q) = %+v, %v", tc.raw, s, err)
		}
	}
	for _, raw := range []string{"http://u:hunter2@mail.example.com", "smtp://u:hunter2@/", "smtp://u:hunter2@mail.example.com/path", "smtp://u:hunter2@host:x:y", "::"} {
		if _, err := mail.ParseSMTPURL(raw, "k@example.com"); err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("ParseSMTPURL(%q) err = %v; want an error without the password", raw, err)
		}
	}
}

// TestQueueLogsNoBody: a message that cannot be sent is logged by address
// and subject, never its body (which holds a secret link).
func TestQueueLogsNoBody(t *testing.T) {
	var logs strings.Builder
	q := mail.NewQueue(&mail.SMTP{Addr: "127.0.0.1:1", From: "keyhole@example.com"}, slog.New(slog.NewTextHandler(&logs, nil)))
	if err := q.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	q.Close()
	if !strings.Contains(logs.String(), "mail not sent") || !strings.Contains(logs.String(), "ada@example.com") || strings.Contains(logs.String(), "khp_") {
		t.Errorf("log = %s", logs.String())
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// their files and a pool trusting it.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
