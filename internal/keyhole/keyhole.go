// Package keyhole holds Keyhole's domain vocabulary: accounts, OAuth clients,
// authorizations and their tokens, login sessions, apps, scopes and the one
// error type every layer speaks. It imports nothing else from the project.
package keyhole
