package service

import "context"

// SignTestJWT signs a token of no meaning with the key that signs now,
// for the tests of signing keys outside this package.
func (s *Service) SignTestJWT(ctx context.Context) (string, error) {
	return s.signJWT(ctx, map[string]any{"test": true}, "")
}
