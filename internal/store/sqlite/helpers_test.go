package sqlite_test

import (
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
)

func storeClient() keyhole.Client {
	return keyhole.Client{ID: "c1", AccountID: "no-such-account", Name: "x", RedirectURI: "https://x.example", CreatedAt: time.Now(), UpdatedAt: time.Now()}
}
