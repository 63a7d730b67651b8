package keyhole

import "time"

// SigningKey is a key that signs ID tokens. Its private half is stored
// sealed under the server key; its public half is published in the JWK
// Set from CreatedAt until every token it signed has expired.
type SigningKey struct {
	// ID is the key's id, the kid of the JWS header.
	ID  string
	Alg string
	// Sealed is the private key (PKCS #8), sealed under the server key.
	Sealed    []byte
	CreatedAt time.Time
	// ActivatesAt is when it starts signing: a new key is published a
	// while before, so that relying parties have it by then.
	ActivatesAt time.Time
	// RetiresAt is when it stops signing (the next key activates), zero
	// while no later key exists.
	RetiresAt time.Time
}

// Signs reports whether the key signs at now.
func (k SigningKey) Signs(now time.Time) bool {
	return !now.Before(k.ActivatesAt) && (k.RetiresAt.IsZero() || now.Before(k.RetiresAt))
}
