package secret

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
	"time"
)

var fast = PasswordParams{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

func TestSealOpen(t *testing.T) {
	key := bytes.Repeat([]byte{7}, KeyLen)
	s, err := NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	sealed := s.Seal([]byte("khs_secret"), []byte("client-1"))
	if bytes.Contains(sealed, []byte("khs_secret")) {
		t.Fatal("plaintext visible in sealed value")
	}
	if pt, err := s.Open(sealed, []byte("client-1")); err != nil || string(pt) != "khs_secret" {
		t.Fatalf("Open = %q, %v", pt, err)
	}
	if _, err := s.Open(sealed, []byte("client-2")); err != ErrOpen {
		t.Fatalf("Open with other ad: %v", err)
	}
	other, _ := NewSealer(bytes.Repeat([]byte{8}, KeyLen))
	if _, err := other.Open(sealed, []byte("client-1")); err != ErrOpen {
		t.Fatalf("Open with other key: %v", err)
	}
	if _, err := s.Open(sealed[:5], nil); err != ErrOpen {
		t.Fatalf("Open short: %v", err)
	}
	if bytes.Equal(sealed, s.Seal([]byte("khs_secret"), []byte("client-1"))) {
		t.Fatal("nonce reused")
	}
	if _, err := NewSealer(key[:16]); err == nil {
		t.Fatal("short key accepted")
	}
}

func TestLoadKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	k1, err := LoadKey("", dir)
	if err != nil || len(k1) != KeyLen {
		t.Fatalf("LoadKey = %x, %v", k1, err)
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v", fi.Mode(), err)
	}
	k2, err := LoadKey("", dir)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("second LoadKey = %x, %v; want %x", k2, err, k1)
	}
	os.Chmod(filepath.Join(dir, KeyFile), 0o644)
	if _, err := LoadKey("", dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable key: %v", err)
	}
	env := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, KeyLen))
	if k, err := LoadKey(env, dir); err != nil || k[0] != 1 {
		t.Fatalf("env key = %x, %v", k, err)
	}
	if _, err := LoadKey("c2hvcnQ=", dir); err == nil || strings.Contains(err.Error(), "c2hvcnQ") {
		t.Fatalf("short env key: %v", err)
	}
}

func TestPassword(t *testing.T) {
	h := HashPassword("correct horse", fast)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash = %q", h)
	}
	if ok, err := VerifyPassword("correct horse", h); !ok || err != nil {
		t.Fatalf("Verify right = %v, %v", ok, err)
	}
	if ok, err := VerifyPassword("correct horsf", h); ok || err != nil {
		t.Fatalf("Verify wrong = %v, %v", ok, err)
	}
	if h == HashPassword("correct horse", fast) {
		t.Fatal("salt reused")
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$AAAA$AAAA", "$argon2id$v=19$m=64,t=0,p=1$AAAA$AAAA", "$argon2id$v=19$m=64,t=1,p=1$!!$AAAA"} {
		if _, err := VerifyPassword("x", bad); err != ErrHashFormat {
			t.Errorf("Verify(%q) err = %v", bad, err)
		}
	}
	if NeedsRehash(h, fast) || !NeedsRehash(h, OWASP) || !NeedsRehash("junk", fast) {
		t.Fatal("NeedsRehash wrong")
	}
}

func BenchmarkHashPasswordOWASP(b *testing.B) {
	for b.Loop() {
		HashPassword("correct horse battery staple", OWASP)
	}
}

func TestMAC(t *testing.T) {
	key := make([]byte, KeyLen)
	s, _ := NewSealer(key)
	key[0] = 1
	other, _ := NewSealer(key)
	a := s.MAC("csrf", "ab", "c")
	for name, b := range map[string][]byte{
		"other parts":   s.MAC("csrf", "a", "bc"),
		"other purpose": s.MAC("consent", "ab", "c"),
		"other key":     other.MAC("csrf", "ab", "c"),
	} {
		if bytes.Equal(a, b) {
			t.Errorf("%s: same tag", name)
		}
	}
	if !bytes.Equal(a, s.MAC("csrf", "ab", "c")) {
		t.Error("the tag is not deterministic")
	}
}

// TestHasherCap: with one slot taken, a caller waits its time and gets
// ErrBusy; freed, the slot serves.
func TestHasherCap(t *testing.T) {
	h := NewHasher(PasswordParams{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}, 1, 20*time.Millisecond)
	if err := h.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Hash(context.Background(), "pw"); !errors.Is(err, ErrBusy) {
		t.Fatalf("Hash with no free slot: %v, want ErrBusy", err)
	}
	h.release(64)
	enc, err := h.Hash(context.Background(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := h.Verify(context.Background(), "pw", enc); !ok || err != nil {
		t.Errorf("Verify = %v, %v", ok, err)
	}
}

// TestPasswordHashGarbageCollected: a hash whose memory is large next to
// the heap leaves no garbage behind when its slot is freed (100 parallel
// sign-ins peaked at 148–171 MB and held 111–115 MB after, the 19 MiB of
// every hash lying in the heap until the collector came round): its
// memory is free again before the next hash takes the slot.
func TestPasswordHashGarbageCollected(t *testing.T) {
	const memory = 16 << 10 // KiB
	p := PasswordParams{Memory: memory, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}
	h := NewHasher(p, 1, time.Second)
	heap := func() uint64 {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	runtime.GC()
	if live := heap(); live >= memory<<10 {
		t.Skipf("the test's heap (%d bytes) is not small next to the hash's %d KiB", live, memory)
	}
	enc, err := h.Hash(context.Background(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	if got := heap(); got >= memory<<10 {
		t.Errorf("after Hash the heap holds %d bytes, want under the hash's %d KiB: its memory was not collected", got, memory)
	}
	if ok, err := h.Verify(context.Background(), "pw", enc); !ok || err != nil {
		t.Fatalf("Verify = %v, %v", ok, err)
	}
	if got := heap(); got >= memory<<10 {
		t.Errorf("after Verify the heap holds %d bytes, want under the hash's %d KiB: its memory was not collected", got, memory)
	}
}
