package keyhole

import "time"

// DeviceStatus is where a device authorization (RFC 8628) stands.
type DeviceStatus string

// Device authorization states.
const (
	DevicePending  DeviceStatus = "pending"
	DeviceApproved DeviceStatus = "approved"
	DeviceDenied   DeviceStatus = "denied"
)

// DeviceGrant is a pending device authorization: a device (such as a CLI)
// polls with the device code while a person enters the user code in a
// browser and consents.
type DeviceGrant struct {
	ID         string
	ClientID   string
	Scope      []string
	DeviceHash string // SHA-256 of the device code
	UserCode   string // what the person types, normalized (upper case, no dash)
	Interval   int    // seconds the device must wait between polls
	PolledAt   time.Time
	Status     DeviceStatus
	AccountID  string // who answered; "" while pending
	SessionID  string // the browser session that answered
	ExpiresAt  time.Time
	CreatedAt  time.Time
	// Description is what the device said about itself (a CLI's "login
	// from <host>"), shown on the page that approves it; "" if nothing.
	Description string
}
