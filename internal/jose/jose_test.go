package jose

import (
	"encoding/json"
	"strings"
	"testing"

	gojose "github.com/go-jose/go-jose/v4"
)

func TestSignVerifyAndJWKS(t *testing.T) {
	a, der, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseKey(a.ID, der)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := again.Sign(map[string]any{"sub": "x"}, "")
	if err != nil {
		t.Fatal(err)
	}
	// The header names the key and the type.
	obj, err := gojose.ParseSignedCompact(raw, []gojose.SignatureAlgorithm{gojose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	if h := obj.Signatures[0].Header; h.KeyID != a.ID || h.ExtraHeaders["typ"] != "JWT" {
		t.Errorf("header = %+v, want kid %s and typ JWT", h, a.ID)
	}
	payload, err := Verify(raw, []Key{b, a})
	if err != nil || string(payload) != `{"sub":"x"}` {
		t.Fatalf("Verify = %s, %v", payload, err)
	}
	for name, keys := range map[string][]Key{"another key only": {b}, "no keys": nil} {
		if _, err := Verify(raw, keys); err != ErrSignature {
			t.Errorf("%s: err = %v, want ErrSignature", name, err)
		}
	}
	// A signature of another key under this key's id does not hold.
	forged, _ := Key{ID: a.ID, private: b.private}.Sign(map[string]any{"sub": "x"}, "")
	if _, err := Verify(forged, []Key{a}); err != ErrSignature {
		t.Errorf("forged: err = %v, want ErrSignature", err)
	}
	parts := strings.Split(raw, ".")
	for name, bad := range map[string]string{
		"payload changed": parts[0] + ".eyJzdWIiOiJ5In0." + parts[2],
		"alg none":        "eyJhbGciOiJub25lIn0." + parts[1] + ".",
		"not a JWS":       "nope",
	} {
		if _, err := Verify(bad, []Key{a}); err != ErrSignature {
			t.Errorf("%s: err = %v, want ErrSignature", name, err)
		}
	}

	set, err := JWKS([]Key{a, b})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(set, &got); err != nil || len(got.Keys) != 2 {
		t.Fatalf("JWKS = %s, %v", set, err)
	}
	for i, k := range got.Keys {
		if k["kid"] != []Key{a, b}[i].ID || k["use"] != "sig" || k["alg"] != "RS256" || k["kty"] != "RSA" || k["n"] == nil || k["e"] == nil {
			t.Errorf("key %d = %v", i, k)
		}
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
			if _, ok := k[private]; ok {
				t.Errorf("key %d publishes its private part %q", i, private)
			}
		}
	}
}

// BenchmarkSign measures signing an ID token's worth of claims (RS256,
// 2048-bit key): the price an ID token adds to a token answer.
func BenchmarkSign(b *testing.B) {
	k, _, err := NewKey()
	if err != nil {
		b.Fatal(err)
	}
	claims := map[string]any{"iss": "https://id.example.com", "sub": "01234567-89ab-cdef-0123-456789abcdef", "aud": "client", "exp": 1, "iat": 1, "email": "ada@example.com"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Sign(claims, ""); err != nil {
			b.Fatal(err)
		}
	}
}
