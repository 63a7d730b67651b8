package a

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"example.com/keyhole/internal/token"
)

type client struct {
	ID, Name, SecretHash, RedirectURI string
	CodeChallenge                     string
	Status                            int
}

type grant struct {
	Kind   string
	Scope  []string
	UsedAt int64
}

const wantKind = "refresh"

func S256(verifier string) string { return verifier }

func variableTime(tok, other, name string, mac, sum []byte, c client, s token.Secret, presented token.Secret, r *http.Request, csrfToken string) bool {
	_ = tok == other                                               // want `secret tok compared with ==`
	_ = other != tok                                               // want `secret tok compared with !=`
	_ = c.SecretHash == token.Hash(other)                          // want `secret c.SecretHash compared with ==`
	_ = c.CodeChallenge != S256(name)                              // want `secret c.CodeChallenge compared with !=`
	_ = name == S256(tok)                                          // want `secret S256\(…\) compared with ==`
	_ = s.Reveal() == other                                        // want `secret s.Reveal\(…\) compared with ==`
	_ = s == presented                                             // want `secret s compared with ==`
	_ = string(mac) == name                                        // want `secret string\(…\) compared with ==`
	_ = tok[:8] == name                                            // want `secret tok\[…:…\] compared with ==`
	_ = bytes.Equal(mac, sum)                                      // want `secret mac compared with bytes.Equal`
	_ = strings.EqualFold(csrfToken, name)                         // want `secret csrfToken compared with strings.EqualFold`
	_ = strings.Compare(name, tok) == 0                            // want `secret tok compared with strings.Compare`
	_ = sha256.Sum256([]byte(tok)) == sha256.Sum256([]byte(other)) // want `secret sha256.Sum256\(…\) compared with ==`
	_ = r.PostFormValue("csrf") == name                            // want `secret r.PostFormValue\(…\) compared with ==`
	_ = r.URL.Query().Get("code") != name                          // want `secret r.URL.Query\(…\).Get\(…\) compared with !=`
	switch tok {
	case other: // want `secret tok compared with switch`
	}
	_ = tok == name /* want "needs a reason" "secret tok compared with ==" */ //secretcmp:ok
	return false
}

func constantTime(tok, other, name string, mac, sum []byte, c client, g grant, s token.Secret, recoveryCodes []string) bool {
	_ = subtle.ConstantTimeCompare([]byte(tok), []byte(other)) == 1
	_ = hmac.Equal(mac, sum)
	_ = tok == ""
	_ = "" != tok
	_ = s == ""
	_ = mac == nil
	_ = bytes.Equal(mac, nil)
	_ = c.SecretHash == ""
	_ = len(tok) == len(other)
	_ = c.Status == 200
	_ = c.ID == name
	_ = c.RedirectURI != name
	_ = g.Kind == wantKind
	_ = g.UsedAt == 0
	_ = len(recoveryCodes) == 10
	_ = name == other
	switch tok {
	case "":
	}
	//secretcmp:ok both are the server's own configuration, checked once at start
	_ = tok == other
	_ = tok != other //secretcmp:ok the same, on its line
	return false
}
