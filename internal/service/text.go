package service

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
)

// problem is one thing wrong with an input, in words for the person.
type problem string

func (p problem) Error() string { return string(p) }

// Limits on what people type.
const (
	maxNameLen        = 255
	maxDescriptionLen = 255
	minPasswordLen    = 8
	maxPasswordLen    = 1024
	// minPasswordScore is zxcvbn's "safely unguessable": more than 10^8
	// guesses.
	minPasswordScore = 3
)

// checkText validates a name or description that Keyhole shows to people:
// valid UTF-8 of at most max characters, without control characters
// (NUL included) or the bidirectional overrides and isolates (U+202A to
// U+202E, U+2066 to U+2069) that make text display as something other
// than it is. required refuses an empty (or blank) value.
func checkText(field, s string, max int, required bool) error {
	switch {
	case !utf8.ValidString(s):
		return problem(field + " must be valid UTF-8 text.")
	case utf8.RuneCountInString(s) > max:
		return problem(fmt.Sprintf("%s must be at most %d characters.", field, max))
	case required && strings.TrimSpace(s) == "":
		return problem(field + " is required.")
	case strings.ContainsFunc(s, unsafeRune):
		return problem(field + " must not contain control characters or bidirectional text overrides.")
	}
	return nil
}

func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}

// checkPassword refuses a password that is too short, too long, or easy to
// guess: zxcvbn's estimate, with its dictionaries of common passwords,
// words and names, keyboard patterns and sequences, and the person's own
// email and name. The message says why, never what the password was.
func checkPassword(p string, personal ...string) error {
	switch {
	case utf8.RuneCountInString(p) < minPasswordLen:
		return problem(fmt.Sprintf("Password must be at least %d characters.", minPasswordLen))
	case len(p) > maxPasswordLen:
		return problem(fmt.Sprintf("Password must be at most %d bytes.", maxPasswordLen))
	}
	inputs := []string{"keyhole"}
	for _, in := range personal {
		inputs = append(inputs, strings.FieldsFunc(strings.ToLower(in), func(r rune) bool { return r == '@' || r == '.' || r == ' ' })...)
	}
	res := zxcvbn.PasswordStrength(p, inputs)
	if res.Score >= minPasswordScore {
		return nil
	}
	why := "it is short and made of common patterns"
	// The longest weak part of the password says best what is wrong.
	longest := 0
	for _, m := range res.Sequence {
		if n := m.J - m.I + 1; n > longest && m.Pattern != "bruteforce" {
			longest, why = n, weakness(m.Pattern, m.DictionaryName)
		}
	}
	return problem("This password is too easy to guess: " + why + ". Use a longer passphrase of a few unrelated words, or let a password manager make one.")
}

func weakness(pattern, dictionary string) string {
	switch {
	case pattern == "dictionary" && dictionary == "passwords":
		return "it is one of the most common passwords"
	case pattern == "dictionary" && dictionary == "user_inputs":
		return "it contains your email, your name or the word keyhole"
	case pattern == "dictionary":
		return "it is mostly a common word or name"
	case pattern == "spatial":
		return "it is a keyboard pattern such as qwerty"
	case pattern == "repeat":
		return "it repeats characters such as aaaa"
	case pattern == "sequence":
		return "it is a sequence such as abcd or 1234"
	case pattern == "date" || (pattern == "regex" && dictionary == ""):
		return "it is mostly a date or a year"
	}
	return "it is short and made of common patterns"
}
