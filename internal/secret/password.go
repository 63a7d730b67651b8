package secret

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"runtime/metrics"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
)

// PasswordParams are argon2id's cost parameters.
type PasswordParams struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	KeyLen  uint32
	SaltLen uint32
}

// OWASP are the parameters the OWASP Password Storage Cheat Sheet recommends
// for argon2id: 19 MiB, 2 iterations, 1 degree of parallelism.
var OWASP = PasswordParams{Memory: 19 * 1024, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}

// ErrHashFormat means a stored hash is not an argon2id PHC string.
var ErrHashFormat = errors.New("secret: malformed password hash")

// HashPassword returns the argon2id hash of password in PHC string form:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
func HashPassword(password string, p PasswordParams) string {
	salt := make([]byte, p.SaltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

func decode(encoded string) (PasswordParams, []byte, []byte, error) {
	var p PasswordParams
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, ErrHashFormat
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, ErrHashFormat
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil || p.Time == 0 || p.Threads == 0 {
		return p, nil, nil, ErrHashFormat
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return p, nil, nil, ErrHashFormat
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(key) == 0 {
		return p, nil, nil, ErrHashFormat
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}

// VerifyPassword reports whether password matches the encoded hash, in
// constant time.
func VerifyPassword(password, encoded string) (bool, error) {
	p, salt, key, err := decode(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// NeedsRehash reports whether encoded was made with parameters other than p,
// so that it should be replaced at the next successful login.
func NeedsRehash(encoded string, p PasswordParams) bool {
	got, _, _, err := decode(encoded)
	return err != nil || got != p
}

// ErrBusy means every password hashing slot stayed taken for as long as a
// caller may wait.
var ErrBusy = errors.New("secret: password hashing is at capacity")

// Hasher hashes and verifies passwords with argon2id, at most a fixed
// number at a time: each computation holds the cost's Memory while it
// runs, so the cap is what bounds the memory a burst of sign-ins can take.
// A caller waits up to a while for a slot, then gets ErrBusy. It is safe
// for concurrent use.
//
// Each computation leaves its Memory (19 MiB at OWASP's cost) behind as
// garbage, and the garbage collector lets the heap grow to twice what it
// found live, in-flight computations included: left alone, a burst of
// sign-ins on a small heap takes three to four times the memory the slots
// hold. So while the heap is small next to what the slots hold, a slot
// collects before it is given to the next computation, which then reuses
// the pages instead of taking new ones (see collect).
type Hasher struct {
	params PasswordParams
	slots  chan struct{}
	wait   time.Duration
}

// NewHasher returns a Hasher with cost p that runs at most slots
// computations at once and lets a caller wait up to wait for one.
func NewHasher(p PasswordParams, slots int, wait time.Duration) *Hasher {
	return &Hasher{params: p, slots: make(chan struct{}, max(slots, 1)), wait: wait}
}

// Params returns the cost new hashes are made with.
func (h *Hasher) Params() PasswordParams { return h.params }

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(h.wait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-t.C:
		return ErrBusy
	case <-ctx.Done():
		return ctx.Err()
	}
}

// release frees the slot of a computation that took memory KiB, after
// collecting its garbage when that is worth it.
func (h *Hasher) release(memory uint32) {
	collect(memory, cap(h.slots))
	<-h.slots
}

// collect runs the garbage collector when a computation that took memory
// KiB, in one of slots slots, has left garbage that is large next to the
// heap: when the heap found live at the last collection is under twice
// what the slots hold. A collection costs in proportion to the live heap,
// a millisecond or two on a small one, against some 30 ms for the hash;
// on a larger heap the computations' garbage is a small share of what the
// collector lets grow anyway, and the collector's own pacing (and the
// soft memory limit) are left to deal with it. Concurrent calls share a
// cycle (runtime.GC starts one cycle after the one in progress).
func collect(memory uint32, slots int) {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	if s[0].Value.Uint64() < 2*uint64(slots)*uint64(memory)<<10 {
		runtime.GC()
	}
}

// Hash returns the PHC string of password (HashPassword), in a slot.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release(h.params.Memory)
	return HashPassword(password, h.params), nil
}

// Verify reports whether password matches encoded (VerifyPassword), in a
// slot.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (bool, error) {
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	p, _, _, err := decode(encoded)
	if err != nil {
		<-h.slots
		return false, err
	}
	defer h.release(p.Memory)
	return VerifyPassword(password, encoded)
}
