package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/git-lfs/go-netrc/netrc"
)

// netrcFile is the netrc file the CLI keeps its login in: the file NETRC
// names, else ~/.netrc (where Heroku's CLI keeps its own, so that a login
// of either works for both).
type netrcFile struct{ path string }

func newNetrc(getenv func(string) string) (netrcFile, error) {
	if p := getenv("NETRC"); p != "" {
		return netrcFile{path: p}, nil
	}
	home := getenv("HOME")
	if home == "" {
		var err error
		if home, err = os.UserHomeDir(); err != nil {
			return netrcFile{}, errors.New("cannot find the netrc file: set HOME or NETRC")
		}
	}
	return netrcFile{path: filepath.Join(home, ".netrc")}, nil
}

// parse reads the file; a missing file is an empty one.
func (f netrcFile) parse() (*netrc.Netrc, error) {
	b, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		b, err = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", f.path, err)
	}
	n, err := netrc.Parse(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s is not a valid netrc file: %v", f.path, err)
	}
	return n, nil
}

// lookup returns the login and password of machine host; ok is false when
// the file has no entry for it (a "default" entry is not used: its
// password is meant for other hosts).
func (f netrcFile) lookup(host string) (login, password string, ok bool, err error) {
	n, err := f.parse()
	if err != nil {
		return "", "", false, err
	}
	m := n.FindMachine(host, "")
	if m == nil || m.IsDefault() || m.Password == "" {
		return "", "", false, nil
	}
	return m.Login, m.Password, true, nil
}

// save writes the entry of machine host, replacing any earlier one and
// keeping every other entry and comment as it was. The file is written
// whole to a temporary file with mode 0600 and renamed over the old one,
// so that a crash leaves either version and the tokens are never readable
// by others, whatever mode the old file had.
func (f netrcFile) save(host, login, password string) error {
	n, err := f.parse()
	if err != nil {
		return err
	}
	for n.FindMachine(host, "") != nil && !n.FindMachine(host, "").IsDefault() {
		n.RemoveMachine(host, "")
	}
	n.NewMachine(host, login, password, "")
	return f.write(n)
}

// remove deletes the entry of machine host; ok is false when there was none.
func (f netrcFile) remove(host string) (bool, error) {
	n, err := f.parse()
	if err != nil {
		return false, err
	}
	found := false
	for m := n.FindMachine(host, ""); m != nil && !m.IsDefault(); m = n.FindMachine(host, "") {
		n.RemoveMachine(host, "")
		found = true
	}
	if !found {
		return false, nil
	}
	return true, f.write(n)
}

func (f netrcFile) write(n *netrc.Netrc) error {
	text, err := n.MarshalText()
	if err != nil {
		return err
	}
	if len(text) > 0 && text[len(text)-1] != '\n' {
		text = append(text, '\n')
	}
	path := f.path
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real // keep a symlinked netrc a symlink
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".netrc-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	if _, err := tmp.Write(text); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	return nil
}
