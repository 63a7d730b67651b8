package keyhole

import "time"

// MailPurpose is what a mailed link does.
type MailPurpose string

// Mailed link purposes.
const (
	// MailVerify confirms that the person reads Email: at sign-up, or
	// before an email change takes effect.
	MailVerify MailPurpose = "verify"
	// MailReset lets the person set a new password.
	MailReset MailPurpose = "reset"
)

// MailToken is a single-use link sent by mail. The server keeps only the
// hash of the secret the link carries.
type MailToken struct {
	Hash      string
	AccountID string
	Purpose   MailPurpose
	// Email is the address the link was sent to: for MailVerify, the
	// address it confirms.
	Email string
	// Version is the account's credentials version when the link was
	// made: the link works only while the account is still at it (see
	// Account.CredentialsVersion), so that whatever moves the version on
	// ends every link mailed before.
	Version   int64
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // zero while unused
}
