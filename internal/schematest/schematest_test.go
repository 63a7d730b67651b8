package schematest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
)

const (
	accountID = "01234567-89ab-cdef-0123-456789abcdef"
	authzID   = "11234567-89ab-cdef-0123-456789abcdef"
	tokenID   = "21234567-89ab-cdef-0123-456789abcdef"
	clientID  = "31234567-89ab-cdef-0123-456789abcdef"
	createdAt = "2012-01-01T12:00:00Z"
)

// account returns every property of #/definitions/account with a valid value.
func account() map[string]any {
	return map[string]any{
		"allow_tracking":            true,
		"beta":                      false,
		"country_of_residence":      nil,
		"created_at":                createdAt,
		"default_organization":      nil,
		"default_team":              nil,
		"delinquent_at":             nil,
		"email":                     "tina@example.com",
		"federated":                 false,
		"id":                        accountID,
		"identity_provider":         nil,
		"last_login":                "2012-01-02T08:30:00.123456Z",
		"name":                      "Tina Edmonds",
		"sms_number":                nil,
		"suspended_at":              nil,
		"two_factor_authentication": false,
		"updated_at":                "2012-01-01T12:00:00+02:00",
		"verified":                  false,
	}
}

// authorization returns a valid #/definitions/oauth-authorization.
func authorization() map[string]any {
	return map[string]any{
		"access_token": map[string]any{
			"expires_in": 28800,
			"id":         tokenID,
			"token":      "HRKU-01234567-89ab-cdef-0123-456789abcdef",
		},
		"client": map[string]any{
			"id":           clientID,
			"name":         "example",
			"redirect_uri": "https://example.com/auth/heroku/callback",
		},
		"created_at":    createdAt,
		"description":   "sample authorization",
		"grant":         nil,
		"id":            authzID,
		"refresh_token": nil,
		"scope":         []any{"global"},
		"session":       nil,
		"updated_at":    createdAt,
		"user": map[string]any{
			"id":        accountID,
			"email":     "tina@example.com",
			"full_name": nil,
		},
	}
}

func with(m map[string]any, key string, value any) map[string]any {
	m[key] = value
	return m
}

func without(m map[string]any, key string) map[string]any {
	delete(m, key)
	return m
}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// checkResult compares err with the wanted outcome: wantErr "" means valid,
// anything else is a substring the error must contain.
func checkResult(t *testing.T, err error, wantErr string) {
	t.Helper()
	switch {
	case wantErr == "" && err != nil:
		t.Errorf("got error %v, want valid", err)
	case wantErr != "" && err == nil:
		t.Errorf("got valid, want error containing %q", wantErr)
	case wantErr != "" && !strings.Contains(err.Error(), wantErr):
		t.Errorf("got error %v, want it to contain %q", err, wantErr)
	}
}

func TestCheckAccount(t *testing.T) {
	tests := []struct {
		name    string
		body    any
		wantErr string
	}{
		{"valid", account(), ""},
		{"only some properties", map[string]any{"id": accountID, "email": "a@example.com"}, ""},
		{"nullable name is null", with(account(), "name", nil), ""},
		{"nullable last_login is null", with(account(), "last_login", nil), ""},
		{"nested default_team", with(account(), "default_team", map[string]any{"id": accountID, "name": "team"}), ""},
		{"unknown property", with(account(), "password_hash", "x"), "password_hash"},
		{"unknown nested property", with(account(), "default_team", map[string]any{"id": accountID, "owner": "x"}), "owner"},
		{"bad uuid", with(account(), "id", "01234567-89ab-cdef-0123"), "uuid"},
		{"bad date-time", with(account(), "created_at", "2012-01-01 12:00:00"), "date-time"},
		{"date-time without zone", with(account(), "created_at", "2012-01-01T12:00:00"), "date-time"},
		{"nullable date-time malformed", with(account(), "suspended_at", "yesterday"), "date-time"},
		{"bad email", with(account(), "email", "tina.example.com"), "email"},
		{"email not nullable", with(account(), "email", nil), "/email"},
		{"boolean as string", with(account(), "verified", "false"), "/verified"},
		{"id as number", with(account(), "id", 42), "/id"},
		{"self enum not a property", with(account(), "self", "~"), "self"},
		{"array body", []any{account()}, "want an object"},
		{"null body", nil, "want an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkResult(t, check("account", mustJSON(t, tt.body)), tt.wantErr)
		})
	}
}

func TestCheckMalformed(t *testing.T) {
	for _, body := range []string{``, `{`, `{"id":`, `{} {}`, `{"id": "x",}`} {
		t.Run(fmt.Sprintf("%q", body), func(t *testing.T) {
			checkResult(t, check("account", []byte(body)), "not valid JSON")
		})
	}
}

func TestCheckOtherDefinitions(t *testing.T) {
	tests := []struct {
		definition string
		body       any
		wantErr    string
	}{
		{"oauth-authorization", authorization(), ""},
		{"oauth-authorization", with(authorization(), "scope", "global"), "/scope"},
		{"oauth-authorization", with(authorization(), "user", map[string]any{"id": accountID, "name": "x"}), "name"},
		{"oauth-client", map[string]any{
			"created_at": createdAt, "id": clientID, "ignores_delinquent": nil, "name": "example",
			"redirect_uri": "https://example.com/cb", "secret": "s3cret", "updated_at": createdAt,
		}, ""},
		{"oauth-client", map[string]any{"id": clientID, "client_secret": "x"}, "client_secret"},
		// Keyhole's addition is checked too: a list of URIs, not empty.
		{"oauth-client", map[string]any{"id": clientID, "post_logout_redirect_uris": []any{"https://example.com/bye"}}, ""},
		{"oauth-client", map[string]any{"id": clientID, "post_logout_redirect_uris": []any{"not a uri"}}, "post_logout_redirect_uris"},
		{"oauth-client", map[string]any{"id": clientID, "post_logout_redirect_uris": []any{}}, "post_logout_redirect_uris"},
		{"oauth-client", map[string]any{"id": clientID, "post_logout_redirect_uris": "https://example.com/bye"}, "post_logout_redirect_uris"},
		{"config-var", map[string]any{"FOO": "bar", "BAZ_2": "qux"}, ""},
		{"config-var", map[string]any{"FOO": 1}, "/FOO"},
		{"config-var", map[string]any{"NOT-A-WORD": "x"}, "NOT-A-WORD"},
		{"config-vars", map[string]any{}, `did you mean config-var`},
		{"no-such-thing", map[string]any{}, `no definition "no-such-thing"`},
	}
	for _, tt := range tests {
		t.Run(tt.definition, func(t *testing.T) {
			checkResult(t, check(tt.definition, mustJSON(t, tt.body)), tt.wantErr)
		})
	}
}

func TestCheckList(t *testing.T) {
	tests := []struct {
		name    string
		body    any
		wantErr string
	}{
		{"empty", []any{}, ""},
		{"valid", []any{account(), without(account(), "name")}, ""},
		{"second invalid", []any{account(), with(account(), "id", "nope")}, "element 1"},
		{"element not an object", []any{account(), "x"}, "element 1 is a JSON string"},
		{"object body", account(), "want an array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkResult(t, checkList("account", mustJSON(t, tt.body)), tt.wantErr)
		})
	}
}

func TestCheckLink(t *testing.T) {
	const authzHref = "/oauth/authorizations/{(%23%2Fdefinitions%2Foauth-authorization%2Fdefinitions%2Fidentity)}"
	tests := []struct {
		name                     string
		definition, method, href string
		body                     any
		wantErr                  string
	}{
		{"account info", "account", "GET", "/account", account(), ""},
		{"account info lower-case method", "account", "get", "/account", account(), ""},
		{"account info invalid", "account", "GET", "/account", with(account(), "extra", 1), "extra"},
		{"account by user", "account", "GET", "/users/{id}", account(), ""},
		{"authorization create", "oauth-authorization", "POST", "/oauth/authorizations", authorization(), ""},
		{"authorization create invalid", "oauth-authorization", "POST", "/oauth/authorizations",
			with(authorization(), "created_at", "soon"), "date-time"},
		{"authorization create list body", "oauth-authorization", "POST", "/oauth/authorizations",
			[]any{authorization()}, "targetSchema of POST /oauth/authorizations"},
		{"authorization info, schema href", "oauth-authorization", "GET", authzHref, authorization(), ""},
		{"authorization info, simplified href", "oauth-authorization", "GET", "/oauth/authorizations/{id}", authorization(), ""},
		{"authorization list", "oauth-authorization", "GET", "/oauth/authorizations", []any{authorization()}, ""},
		{"authorization list invalid", "oauth-authorization", "GET", "/oauth/authorizations",
			[]any{with(authorization(), "id", "x")}, "/0/id"},
		{"authorization list of object", "oauth-authorization", "GET", "/oauth/authorizations", authorization(), "array"},
		// This link has no targetSchema, so the definition applies.
		{"client info without targetSchema", "oauth-client", "GET", "/oauth/clients/{id}", map[string]any{"id": clientID}, ""},
		{"client info without targetSchema invalid", "oauth-client", "GET", "/oauth/clients/{id}",
			map[string]any{"id": "x"}, "#/definitions/oauth-client"},
		{"config vars", "config-var", "GET", "/apps/{app}/config-vars", map[string]any{"A": "b"}, ""},
		{"unknown link", "account", "PUT", "/account", account(), "no link PUT /account"},
		{"wrong href", "account", "GET", "/accounts", account(), "no link GET /accounts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkResult(t, checkLink(tt.definition, tt.method, tt.href, mustJSON(t, tt.body)), tt.wantErr)
		})
	}
}

// fakeTB records Errorf calls; the embedded nil testing.TB makes any other
// method panic, so the test notices if Validate starts using one.
type fakeTB struct {
	testing.TB
	errors []string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Errorf(format string, args ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, args...))
}

func TestValidateReports(t *testing.T) {
	bad := mustJSON(t, with(account(), "id", "nope"))
	calls := []struct {
		name string
		call func(testing.TB)
	}{
		{"Validate", func(tb testing.TB) { Validate(tb, "account", bad) }},
		{"ValidateList", func(tb testing.TB) { ValidateList(tb, "account", []byte("["+string(bad)+"]")) }},
		{"ValidateLink", func(tb testing.TB) { ValidateLink(tb, "account", "GET", "/account", bad) }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			tb := &fakeTB{}
			c.call(tb)
			if len(tb.errors) != 1 {
				t.Fatalf("got %d errors, want 1: %q", len(tb.errors), tb.errors)
			}
			for _, want := range []string{"definitions/account", "uuid", `"id":"nope"`} {
				if !strings.Contains(tb.errors[0], want) {
					t.Errorf("got message %q, want it to contain %q", tb.errors[0], want)
				}
			}
		})
	}

	t.Run("valid", func(t *testing.T) {
		tb := &fakeTB{}
		good := mustJSON(t, account())
		Validate(tb, "account", good)
		ValidateList(tb, "account", []byte("["+string(good)+"]"))
		ValidateLink(tb, "account", "GET", "/account", good)
		if len(tb.errors) != 0 {
			t.Errorf("got errors %q, want none", tb.errors)
		}
	})
}

func TestValidateAbbreviatesLargeBodies(t *testing.T) {
	tb := &fakeTB{}
	body := mustJSON(t, with(account(), "name", strings.Repeat("x", 2*maxBody)))
	Validate(tb, "account", append(body[:len(body)-1], `,"x":1}`...))
	if len(tb.errors) != 1 {
		t.Fatalf("got %d errors, want 1", len(tb.errors))
	}
	if got := len(tb.errors[0]); got > 2*maxBody {
		t.Errorf("got a %d-byte message, want the body abbreviated", got)
	}
}

// Every definition and every link of the schema must compile, so tests
// anywhere can validate any resource.
func TestEverySchemaCompiles(t *testing.T) {
	if err := defaultSchemas.load(); err != nil {
		t.Fatal(err)
	}
	defs := defaultSchemas.doc["definitions"].(map[string]any)
	if len(defs) < 50 {
		t.Fatalf("got %d definitions, want the whole Heroku schema", len(defs))
	}
	for name, def := range defs {
		if _, err := defaultSchemas.definition(name); err != nil {
			t.Error(err)
		}
		links, _ := def.(map[string]any)["links"].([]any)
		for _, raw := range links {
			l := raw.(map[string]any)
			method, _ := l["method"].(string)
			href, _ := l["href"].(string)
			if _, err := defaultSchemas.link(name, method, href); err != nil {
				t.Error(err)
			}
		}
	}
}

func TestValidateConcurrently(t *testing.T) {
	body := mustJSON(t, authorization())
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for _, def := range []string{"oauth-authorization", "oauth-token", "app"} {
				_ = check(def, body)
			}
			Validate(t, "oauth-authorization", body)
		})
	}
	wg.Wait()
}

// The RE2 substitute must accept exactly what the lookahead pattern accepts.
func TestRE2Equivalents(t *testing.T) {
	const spaceName = `^[a-z0-9](?:[a-z0-9]|-(?!-))+[a-z0-9]$`
	want := func(s string) bool {
		if len(s) < 3 || strings.Contains(s, "--") {
			return false
		}
		alnum := regexp.MustCompile(`^[a-z0-9]$`)
		return alnum.MatchString(s[:1]) && alnum.MatchString(s[len(s)-1:]) &&
			regexp.MustCompile(`^[a-z0-9-]*$`).MatchString(s)
	}
	re, err := compileRegexp(spaceName)
	if err != nil {
		t.Fatal(err)
	}
	if got := re.String(); got != spaceName {
		t.Errorf("got String() %q, want the schema's pattern", got)
	}
	// Every string up to length 7 over a representative alphabet.
	alphabet := []string{"a", "0", "-", "A", "_"}
	var all func(prefix string, n int)
	all = func(prefix string, n int) {
		if got, want := re.MatchString(prefix), want(prefix); got != want {
			t.Errorf("MatchString(%q) = %v, want %v", prefix, got, want)
		}
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			all(prefix+c, n-1)
		}
	}
	all("", 7)

	if _, err := compileRegexp(`^(?!x)`); err == nil {
		t.Error("got nil error for an untranslated lookahead, want one")
	}
}
