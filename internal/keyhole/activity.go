package keyhole

import "time"

// EventType names what an activity event records.
type EventType string

// The events of an account's activity log. Each is written in the same
// transaction as the change it records (a failed sign-in or a revealed
// key, which change nothing else, on their own).
const (
	EventLoginSucceeded      EventType = "login.succeeded"
	EventLoginFailed         EventType = "login.failed"
	EventMFAEnabled          EventType = "mfa.enabled"
	EventMFADisabled         EventType = "mfa.disabled"
	EventRecoveryCodeUsed    EventType = "mfa.recovery_code_used"
	EventRecoveryCodesNew    EventType = "mfa.recovery_codes_regenerated"
	EventPasswordChanged     EventType = "password.changed"
	EventPasswordReset       EventType = "password.reset"
	EventEmailChanged        EventType = "email.changed"
	EventEmailChangeAsked    EventType = "email.change_requested"
	EventEmailVerified       EventType = "email.verified"
	EventAPIKeyRevealed      EventType = "api_key.revealed"
	EventAPIKeyRegenerated   EventType = "api_key.regenerated"
	EventClientCreated       EventType = "client.created"
	EventClientUpdated       EventType = "client.updated"
	EventClientRotated       EventType = "client.secret_rotated"
	EventClientSecretShown   EventType = "client.secret_revealed"
	EventClientDeleted       EventType = "client.deleted"
	EventAuthorizationMade   EventType = "authorization.created"
	EventAuthorizationGrant  EventType = "authorization.granted"
	EventAuthorizationRevoke EventType = "authorization.revoked"
	EventSessionEnded        EventType = "session.ended"
	EventIDTokenIssued       EventType = "id_token.issued"
	EventTeamCreated         EventType = "team.created"
	EventTeamChanged         EventType = "team.changed"
	EventTeamDeleted         EventType = "team.deleted"
	EventMemberAdded         EventType = "team.member_added"
	EventMemberChanged       EventType = "team.member_changed"
	EventMemberRemoved       EventType = "team.member_removed"
	EventInvitationSent      EventType = "team.invitation_sent"
	EventInvitationRevoked   EventType = "team.invitation_revoked"
	EventInvitationAccepted  EventType = "team.invitation_accepted"
	EventPermissionGranted   EventType = "app.permission_granted"
	EventPermissionChanged   EventType = "app.permission_changed"
	EventPermissionRevoked   EventType = "app.permission_revoked"
	EventAppTransferred      EventType = "app.transferred"
)

// EventTitles says each event in plain words, for the activity page.
var EventTitles = map[EventType]string{
	EventLoginSucceeded:      "Signed in",
	EventLoginFailed:         "Sign-in failed",
	EventMFAEnabled:          "Two-factor authentication enabled",
	EventMFADisabled:         "Two-factor authentication disabled",
	EventRecoveryCodeUsed:    "Recovery code used",
	EventRecoveryCodesNew:    "Recovery codes regenerated",
	EventPasswordChanged:     "Password changed",
	EventPasswordReset:       "Password reset by email",
	EventEmailChanged:        "Email changed",
	EventEmailChangeAsked:    "Email change requested",
	EventEmailVerified:       "Email verified",
	EventAPIKeyRevealed:      "API key revealed",
	EventAPIKeyRegenerated:   "API key regenerated",
	EventClientCreated:       "OAuth client registered",
	EventClientUpdated:       "OAuth client changed",
	EventClientRotated:       "OAuth client secret rotated",
	EventClientSecretShown:   "OAuth client secret revealed",
	EventClientDeleted:       "OAuth client deleted",
	EventAuthorizationMade:   "Authorization created",
	EventAuthorizationGrant:  "Application authorized",
	EventAuthorizationRevoke: "Authorization revoked",
	EventSessionEnded:        "Session ended",
	EventIDTokenIssued:       "Signed in to an application",
	EventTeamCreated:         "Team created",
	EventTeamChanged:         "Team changed",
	EventTeamDeleted:         "Team deleted",
	EventMemberAdded:         "Team member added",
	EventMemberChanged:       "Team member's role changed",
	EventMemberRemoved:       "Team member removed",
	EventInvitationSent:      "Team invitation sent",
	EventInvitationRevoked:   "Team invitation revoked",
	EventInvitationAccepted:  "Team invitation accepted",
	EventPermissionGranted:   "App access granted",
	EventPermissionChanged:   "App permissions changed",
	EventPermissionRevoked:   "App access revoked",
	EventAppTransferred:      "App transferred",
}

// Event is one entry of an account's activity log: append-only, never the
// secret itself.
type Event struct {
	// ID is a UUIDv7, so that ids sort as the events happened.
	ID        string
	AccountID string
	Type      EventType
	// IP and UserAgent say where the action came from; "" when unknown.
	IP, UserAgent string
	// Subject is the id of what the event is about (a client, an
	// authorization, a session), or "".
	Subject string
	// Detail says more in words: a client's name, an address.
	Detail    string
	CreatedAt time.Time
}
