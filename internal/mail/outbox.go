package mail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Outbox writes each message as an .eml file into Dir, readable by its
// owner only (0600, in a 0700 folder): Keyhole's default when no mail
// server is configured. Any mail program opens the files.
type Outbox struct {
	Dir  string
	From string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Send writes m to a new file named after the time and a random suffix,
// so that the files sort as they were sent.
func (o *Outbox) Send(_ context.Context, m Message) error {
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	t := now()
	b, err := Format(o.From, m, t)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return fmt.Errorf("mail: outbox: %w", err)
	}
	suffix := make([]byte, 4)
	rand.Read(suffix)
	base := t.UTC().Format("20060102T150405.000000000Z") + "-" + hex.EncodeToString(suffix) + ".eml"
	// Written under a hidden name and renamed, so that whoever reads the
	// folder never sees half a message.
	tmp := filepath.Join(o.Dir, "."+base+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("mail: outbox: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("mail: outbox: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("mail: outbox: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(o.Dir, base)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("mail: outbox: %w", err)
	}
	return nil
}
