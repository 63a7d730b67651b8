package secret

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKeyFileReadableByOthersRefused: the server key file is read only
// when nobody but its owner may read or write it. A group or other bit of
// any kind refuses it, with how to fix it, and without the key.
func TestKeyFileReadableByOthersRefused(t *testing.T) {
	for _, tt := range []struct {
		mode fs.FileMode
		ok   bool
	}{
		{0o600, true},
		{0o400, true},
		{0o700, true},
		{0o640, false},
		{0o620, false},
		{0o610, false},
		{0o660, false},
		{0o604, false},
		{0o602, false},
		{0o601, false},
		{0o644, false},
		{0o666, false},
		{0o440, false},
	} {
		t.Run(tt.mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			want, err := LoadKey("", dir)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, KeyFile)
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			got, err := LoadKey("", dir)
			switch {
			case tt.ok && (err != nil || !bytes.Equal(got, want)):
				t.Errorf("mode %v: LoadKey = %x, %v; want the key", tt.mode, got, err)
			case !tt.ok && (err == nil || got != nil):
				t.Errorf("mode %v: LoadKey = %x, %v; want it refused", tt.mode, got, err)
			case !tt.ok && (!strings.Contains(err.Error(), "chmod 600") || !strings.Contains(err.Error(), tt.mode.String())):
				t.Errorf("mode %v: error %q, want the mode and how to fix it", tt.mode, err)
			}
			// A refusal changes nothing: the file keeps its key.
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if k, err := decodeKey(strings.TrimSpace(string(b)), path); err != nil || !bytes.Equal(k, want) {
				t.Errorf("mode %v: the key file changed: %v", tt.mode, err)
			}
		})
	}
}
