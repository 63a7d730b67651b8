package bouncer_test

import (
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/keyhole/keyhole/bouncer"
)

// The package's example: a whole app that greets the person signed in.
func ExampleNew() {
	b, err := bouncer.New(bouncer.Config{
		Issuer:        "https://id.example.com",
		ClientID:      os.Getenv("KEYHOLE_OAUTH_ID"),
		ClientSecret:  os.Getenv("KEYHOLE_OAUTH_SECRET"),
		RedirectURL:   "https://app.example.com/auth/callback",
		PostLogoutURL: "https://app.example.com/",          // registered on the client
		HashKey:       []byte(os.Getenv("COOKIE_SECRET")),  // 32 bytes or more
		BlockKey:      []byte(os.Getenv("COOKIE_ENCRYPT")), // 16, 24 or 32 bytes
	})
	if err != nil {
		log.Fatal(err)
	}
	http.ListenAndServe(":8080", b.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, _ := bouncer.AccountFrom(r.Context())
		fmt.Fprintf(w, "Hello %s", a.Email)
	})))
}
