package token

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestNewParse(t *testing.T) {
	for typ := range types {
		s := New(typ).Reveal()
		if len(s) != Len || !strings.HasPrefix(s, string(typ)+"_") {
			t.Fatalf("New(%s) = %q", typ, s)
		}
		got, err := Parse(s)
		if err != nil || got != typ {
			t.Fatalf("Parse(%q) = %q, %v", s, got, err)
		}
	}
	if New(Access) == New(Access) {
		t.Fatal("two values are equal")
	}
}

func TestParseRejects(t *testing.T) {
	good := New(Access).Reveal()
	flip := []byte(good)
	flip[10] ^= 1 // still base62? '0'^1='1' etc; any change breaks the checksum
	if flip[10] == '_' || strings.IndexByte(alphabet, flip[10]) < 0 {
		flip[10] = 'z'
	}
	cases := map[string]string{
		"empty":          "",
		"short":          good[:Len-1],
		"long":           good + "a",
		"unknown type":   "xyz" + good[3:],
		"no underscore":  "kha-" + good[4:],
		"bad checksum":   string(flip),
		"non-base62":     good[:20] + "-" + good[21:],
		"heroku-style":   "HRKU-00000000-0000-0000-0000-000000000000",
		"changed suffix": good[:Len-1] + string(alphabet[(strings.IndexByte(alphabet, good[Len-1])+1)%62]),
	}
	for name, s := range cases {
		if _, err := Parse(s); err == nil {
			t.Errorf("%s: Parse(%q) accepted", name, s)
		}
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s := New(Refresh)
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "token", s)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "token", s)
	fmt.Fprintf(&buf, "%s %v %q %+v %#v %x %d", s, s, s, s, s, s, s)
	b, _ := json.Marshal(map[string]any{"t": s})
	buf.Write(b)
	if strings.Contains(buf.String(), s.Reveal()) || strings.Contains(buf.String(), s.Reveal()[4:20]) {
		t.Fatalf("secret printed: %s", buf.String())
	}
	if !strings.Contains(buf.String(), "REDACTED") {
		t.Fatalf("no REDACTED in %s", buf.String())
	}
}

func TestHashHint(t *testing.T) {
	s := New(Access).Reveal()
	if h := Hash(s); len(h) != 64 || h == Hash(s+"x") {
		t.Fatalf("Hash = %q", h)
	}
	h := Hint(s)
	if !strings.HasPrefix(h, s[:8]) || !strings.HasSuffix(h, s[Len-4:]) || strings.Contains(h, s[8:Len-4]) {
		t.Fatalf("Hint = %q", h)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(New(Access).Reveal())
	f.Add("kha_")
	f.Fuzz(func(t *testing.T, s string) {
		typ, err := Parse(s)
		if err == nil && (len(s) != Len || !types[typ]) {
			t.Fatalf("accepted %q", s)
		}
	})
}

func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		New(Access)
	}
}

func BenchmarkParseHash(b *testing.B) {
	s := New(Access).Reveal()
	for b.Loop() {
		if _, err := Parse(s); err != nil {
			b.Fatal(err)
		}
		Hash(s)
	}
}
