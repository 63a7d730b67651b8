// Package mail sends Keyhole's mail: links that verify an address or reset
// a password, and security notices. A Sender delivers one message; SMTP
// relays it to a mail server and Outbox, the default, writes it to a
// folder, so that a first run needs nothing installed. Messages carry
// secret links: their bodies never reach a log.
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"sync"
	"time"
)

// Message is one mail to one person, in plain text.
type Message struct {
	To      string
	Subject string
	// Body is the text; it may hold a secret link.
	Body string
}

// LogValue keeps the body, which may hold a secret link, out of logs.
func (m Message) LogValue() slog.Value {
	return slog.GroupValue(slog.String("to", m.To), slog.String("subject", m.Subject))
}

// Sender delivers messages. Send returns an error when the message could
// not be handed over; it never includes the body in it.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Format renders m as an RFC 5322 message from from, in UTF-8 with a
// quoted-printable body. It refuses addresses that do not parse and
// header values with line breaks, so nothing can add a header.
func Format(from string, m Message, now time.Time) ([]byte, error) {
	fromAddr, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("mail: bad From address: %w", err)
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return nil, fmt.Errorf("mail: bad To address: %w", err)
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		return nil, fmt.Errorf("mail: the subject has a line break")
	}
	id := make([]byte, 12)
	rand.Read(id)
	domain := fromAddr.Address[strings.LastIndexByte(fromAddr.Address, '@')+1:]
	var b bytes.Buffer
	for _, h := range [][2]string{
		{"From", fromAddr.String()},
		{"To", to.String()},
		{"Subject", mime.QEncoding.Encode("utf-8", m.Subject)},
		{"Date", now.Format(time.RFC1123Z)},
		{"Message-ID", "<" + hex.EncodeToString(id) + "@" + domain + ">"},
		{"MIME-Version", "1.0"},
		{"Content-Type", "text/plain; charset=utf-8"},
		{"Content-Transfer-Encoding", "quoted-printable"},
		{"Auto-Submitted", "auto-generated"},
	} {
		b.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	body := strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n")
	if _, err := qp.Write([]byte(body)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Queue sends messages in the background, one at a time, so that no
// request waits for a mail server, and so that whether a mail was sent
// (to a known address, say) cannot be told by how long the answer took.
// A message that cannot be sent is logged (address and subject only) and
// dropped; so is one that finds the queue full.
type Queue struct {
	s    Sender
	log  *slog.Logger
	c    chan Message
	done chan struct{}
	once sync.Once
}

// QueueSize is how many messages may wait.
const QueueSize = 1000

// sendTimeout bounds one delivery.
const sendTimeout = 30 * time.Second

// NewQueue starts a queue in front of s.
func NewQueue(s Sender, log *slog.Logger) *Queue {
	q := &Queue{s: s, log: log, c: make(chan Message, QueueSize), done: make(chan struct{})}
	go q.run()
	return q
}

func (q *Queue) run() {
	defer close(q.done)
	for m := range q.c {
		ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
		if err := q.s.Send(ctx, m); err != nil {
			q.log.Warn("mail not sent", "mail", m, "err", err)
		}
		cancel()
	}
}

// Send queues m; it never blocks.
func (q *Queue) Send(_ context.Context, m Message) error {
	select {
	case q.c <- m:
		return nil
	default:
		q.log.Warn("mail queue full: message dropped", "mail", m)
		return fmt.Errorf("mail: the queue is full")
	}
}

// Close sends what is queued and stops; Send must not be called after.
func (q *Queue) Close() {
	q.once.Do(func() { close(q.c) })
	<-q.done
}
