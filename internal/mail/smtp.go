package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"net/url"
	"time"
)

// SMTP relays messages to a mail server (RFC 5321). It upgrades the
// connection with STARTTLS whenever the server offers it (smtp://), or
// speaks TLS from the start (smtps://), and authenticates with PLAIN when
// a user is set: net/smtp refuses to send the password over a connection
// that is neither encrypted nor to localhost.
type SMTP struct {
	// Addr is host:port.
	Addr string
	// Implicit TLS from the first byte (smtps://, usually port 465).
	Implicit bool
	// User and Password, when User is not "", authenticate.
	User, Password string
	From           string
	// TLS configures the encrypted connection; nil verifies the server
	// against the system's roots for the host of Addr.
	TLS *tls.Config
	// Hello is the name said in EHLO; "" means "localhost".
	Hello string
}

// ParseSMTPURL reads smtp://user:pass@host:port (port 587 when absent) or
// smtps://… (port 465). Its errors never repeat the password.
func ParseSMTPURL(raw, from string) (*SMTP, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("the SMTP URL is malformed")
	}
	s := &SMTP{From: from}
	switch u.Scheme {
	case "smtp":
	case "smtps":
		s.Implicit = true
	default:
		return nil, errors.New("the SMTP URL must start with smtp:// or smtps://")
	}
	if u.Hostname() == "" || u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		return nil, errors.New("the SMTP URL must be smtp://[user:password@]host[:port]")
	}
	port := u.Port()
	if port == "" {
		port = map[bool]string{false: "587", true: "465"}[s.Implicit]
	}
	s.Addr = net.JoinHostPort(u.Hostname(), port)
	if u.User != nil {
		s.User = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	return s, nil
}

// Send delivers m to the server in one SMTP session.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	b, err := Format(s.From, m, time.Now())
	if err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return fmt.Errorf("mail: smtp: bad address: %w", err)
	}
	cfg := s.TLS
	if cfg == nil {
		cfg = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	d := &net.Dialer{Timeout: 10 * time.Second}
	var conn net.Conn
	if s.Implicit {
		conn, err = (&tls.Dialer{NetDialer: d, Config: cfg}).DialContext(ctx, "tcp", s.Addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", s.Addr)
	}
	if err != nil {
		return fmt.Errorf("mail: smtp: %w", err)
	}
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetDeadline(deadline)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("mail: smtp: %w", err)
	}
	defer c.Close()
	hello := s.Hello
	if hello == "" {
		hello = "localhost"
	}
	if err := c.Hello(hello); err != nil {
		return fmt.Errorf("mail: smtp: EHLO: %w", err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok && !s.Implicit {
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("mail: smtp: STARTTLS: %w", err)
		}
	}
	if s.User != "" {
		if err := c.Auth(smtp.PlainAuth("", s.User, s.Password, host)); err != nil {
			return fmt.Errorf("mail: smtp: AUTH: %w", err)
		}
	}
	from, err := mail.ParseAddress(s.From)
	if err != nil {
		return fmt.Errorf("mail: smtp: bad From address: %w", err)
	}
	if err := c.Mail(from.Address); err != nil {
		return fmt.Errorf("mail: smtp: MAIL FROM: %w", err)
	}
	if err := c.Rcpt(m.To); err != nil {
		return fmt.Errorf("mail: smtp: RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("mail: smtp: DATA: %w", err)
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("mail: smtp: DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("mail: smtp: DATA: %w", err)
	}
	return c.Quit()
}
