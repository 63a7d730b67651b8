package service

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// ones is an endless stream of the byte 1.
type ones struct{}

func (ones) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 1
	}
	return len(p), nil
}

// TestDeviceUserCodeNoModuloBias checks the rule that makes user codes
// uniform: a byte below 240 (the largest multiple of the alphabet's 20
// letters a byte holds) is the letter at byte % 20, so that each letter
// has exactly 12 bytes; a byte from 240 up is skipped.
func TestDeviceUserCodeNoModuloBias(t *testing.T) {
	if userCodeLimit != 240 {
		t.Fatalf("userCodeLimit = %d, want 240", userCodeLimit)
	}
	skipped := strings.Repeat(userCodeAlphabet[1:2], userCodeLen)
	per := map[byte]int{}
	for v := range 256 {
		code, err := userCodeFrom(io.MultiReader(bytes.NewReader([]byte{byte(v)}), ones{}))
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case len(code) != userCodeLen:
			t.Fatalf("byte %d: code %q, want %d letters", v, code, userCodeLen)
		case v >= 240 && code != skipped:
			t.Errorf("byte %d: code %q, want it skipped (%q)", v, code, skipped)
		case v < 240 && code[0] != userCodeAlphabet[v%len(userCodeAlphabet)]:
			t.Errorf("byte %d: first letter %c, want %c", v, code[0], userCodeAlphabet[v%len(userCodeAlphabet)])
		case v < 240:
			per[code[0]]++
		}
	}
	for i := range len(userCodeAlphabet) {
		if n := per[userCodeAlphabet[i]]; n != 12 {
			t.Errorf("letter %c is drawn from %d byte values, want 12", userCodeAlphabet[i], n)
		}
	}
	// At the boundary, in one stream: 239 is kept, 240 and 255 skipped.
	code, err := userCodeFrom(bytes.NewReader([]byte{240, 239, 255, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}))
	if err != nil {
		t.Fatal(err)
	}
	if code != "ZBCDFGHJ" {
		t.Errorf("code of 240 239 255 0 1 2 … = %q, want ZBCDFGHJ", code)
	}
	if _, err := userCodeFrom(bytes.NewReader(bytes.Repeat([]byte{250}, 64))); err == nil {
		t.Error("a stream that ends before the code is complete gave a code")
	}
}
