package redisstore_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/keyhole/keyhole/internal/ratelimit"
	"github.com/keyhole/keyhole/internal/ratelimit/ratelimittest"
	"github.com/keyhole/keyhole/internal/ratelimit/redisstore"
)

// RedisURL returns KEYHOLE_TEST_REDIS, or skips the test (and fails it in
// CI, where .ci/run provides Redis).
func redisURL(t *testing.T) string {
	u := os.Getenv("KEYHOLE_TEST_REDIS")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("KEYHOLE_TEST_REDIS must be set in CI")
		}
		t.Skip("KEYHOLE_TEST_REDIS not set")
	}
	return u
}

func TestConformance(t *testing.T) {
	url := redisURL(t)
	ratelimittest.Run(t, func(t *testing.T) ratelimit.Store {
		s, err := redisstore.Open(context.Background(), url, "keyhole-test:"+uuid.NewString()+":")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestMalformedURLIsNotEchoed(t *testing.T) {
	_, err := redisstore.Open(context.Background(), "redis://user:hunter2@[::1", "k:")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("err = %v", err)
	}
}
