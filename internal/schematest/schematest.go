// Package schematest checks JSON response bodies against the Heroku Platform
// API schema, so that handler tests assert the wire format Heroku clients
// expect instead of comparing against golden files.
//
// The schema (schema.json, a copy of the published Heroku Platform API
// hyper-schema) is draft-04 with Heroku's extensions. It is loaded once and
// tightened before compilation:
//
//   - every object schema with "strictProperties": true also gets
//     "additionalProperties": false, so unknown fields are rejected;
//   - the "format" keyword is asserted, so "uuid", "date-time", "email",
//     "uri" and the rest must be well formed;
//   - nullable fields keep the schema's own rule: type ["string", "null"]
//     accepts null, and the format applies only when the value is a string;
//   - Keyhole's few additions to Heroku's resources (additions, below) are
//     declared, each with its own schema, so that they too are checked and
//     nothing else slips through.
//
// The schema marks no response field as required, so a body missing a field
// passes; tests that care about a field must check it themselves.
package schematest

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed schema.json
var schemaJSON []byte

// schemaURL is the document's own "id", so that its "#/definitions/..."
// references resolve against the resource we register.
const schemaURL = "http://api.heroku.com/schema"

// Validate reports an error on tb unless body is a JSON object valid against
// the schema's #/definitions/<definition>, for example "account" or
// "oauth-authorization".
func Validate(tb testing.TB, definition string, body []byte) {
	tb.Helper()
	if err := check(definition, body); err != nil {
		tb.Errorf("%v\nbody: %s", err, abbreviate(body))
	}
}

// ValidateList reports an error on tb unless body is a JSON array whose
// every element is valid against #/definitions/<definition>.
func ValidateList(tb testing.TB, definition string, body []byte) {
	tb.Helper()
	if err := checkList(definition, body); err != nil {
		tb.Errorf("%v\nbody: %s", err, abbreviate(body))
	}
}

// ValidateLink reports an error on tb unless body is a valid response for the
// link of definition with the given method and href. The href is written as
// in the schema ("/oauth/authorizations/{(%23%2Fdefinitions%2F...)}") or with
// each template variable shortened to any {name}, such as
// "/oauth/authorizations/{id}". The body is checked against the link's
// targetSchema; a link without one is checked against the definition, as a
// list when the link's rel is "instances".
func ValidateLink(tb testing.TB, definition, method, href string, body []byte) {
	tb.Helper()
	if err := checkLink(definition, method, href, body); err != nil {
		tb.Errorf("%v\nbody: %s", err, abbreviate(body))
	}
}

// check validates body against #/definitions/<definition>.
func check(definition string, body []byte) error {
	s, err := defaultSchemas.definition(definition)
	if err != nil {
		return err
	}
	v, err := decode(body)
	if err != nil {
		return fmt.Errorf("schematest: %s: %w", definition, err)
	}
	if _, ok := v.(map[string]any); !ok {
		return fmt.Errorf("schematest: %s: body is a JSON %s, want an object", definition, kind(v))
	}
	if err := s.Validate(v); err != nil {
		return fmt.Errorf("schematest: body does not match #/definitions/%s: %w", definition, err)
	}
	return nil
}

// checkList validates body as an array of #/definitions/<definition>.
func checkList(definition string, body []byte) error {
	s, err := defaultSchemas.definition(definition)
	if err != nil {
		return err
	}
	v, err := decode(body)
	if err != nil {
		return fmt.Errorf("schematest: %s list: %w", definition, err)
	}
	return validateList(s, definition, v)
}

func validateList(s *jsonschema.Schema, definition string, v any) error {
	items, ok := v.([]any)
	if !ok {
		return fmt.Errorf("schematest: %s list: body is a JSON %s, want an array", definition, kind(v))
	}
	for i, item := range items {
		if _, ok := item.(map[string]any); !ok {
			return fmt.Errorf("schematest: %s list: element %d is a JSON %s, want an object", definition, i, kind(item))
		}
		if err := s.Validate(item); err != nil {
			return fmt.Errorf("schematest: element %d does not match #/definitions/%s: %w", i, definition, err)
		}
	}
	return nil
}

// checkLink validates body as the response of a definition's link.
func checkLink(definition, method, href string, body []byte) error {
	l, err := defaultSchemas.link(definition, method, href)
	if err != nil {
		return err
	}
	v, err := decode(body)
	if err != nil {
		return fmt.Errorf("schematest: %s %s: %w", method, href, err)
	}
	if l.target == nil {
		// No targetSchema: the response is the definition itself.
		s, err := defaultSchemas.definition(definition)
		if err != nil {
			return err
		}
		if l.rel == "instances" {
			return validateList(s, definition, v)
		}
		if _, ok := v.(map[string]any); !ok {
			return fmt.Errorf("schematest: %s %s: body is a JSON %s, want an object", method, href, kind(v))
		}
		if err := s.Validate(v); err != nil {
			return fmt.Errorf("schematest: body does not match #/definitions/%s: %w", definition, err)
		}
		return nil
	}
	if err := l.target.Validate(v); err != nil {
		return fmt.Errorf("schematest: body does not match targetSchema of %s %s (#/definitions/%s/links/%d): %w",
			method, l.href, definition, l.index, err)
	}
	return nil
}

// schemas compiles the embedded document lazily and caches every compiled
// schema, keyed by its location in the document.
type schemas struct {
	once sync.Once
	err  error
	doc  map[string]any

	mu       sync.Mutex // guards compiler and cache; the compiler is not safe for concurrent use
	compiler *jsonschema.Compiler
	cache    map[string]*jsonschema.Schema
}

var defaultSchemas schemas

// link is one entry of a definition's "links".
type link struct {
	index  int
	href   string
	rel    string
	target *jsonschema.Schema // nil when the link has no targetSchema
}

func (s *schemas) load() error {
	s.once.Do(func() {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
		if err != nil {
			s.err = fmt.Errorf("schematest: parse schema.json: %w", err)
			return
		}
		m, ok := doc.(map[string]any)
		if !ok {
			s.err = fmt.Errorf("schematest: schema.json is not an object")
			return
		}
		prepare(m)
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft4)
		c.AssertFormat()
		c.UseRegexpEngine(compileRegexp)
		if err := c.AddResource(schemaURL, m); err != nil {
			s.err = fmt.Errorf("schematest: add schema: %w", err)
			return
		}
		s.doc = m
		s.compiler = c
		s.cache = make(map[string]*jsonschema.Schema)
	})
	return s.err
}

// compile returns the compiled schema at the JSON pointer ptr of the document.
func (s *schemas) compile(ptr string) (*jsonschema.Schema, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sch, ok := s.cache[ptr]; ok {
		return sch, nil
	}
	sch, err := s.compiler.Compile(schemaURL + "#" + ptr)
	if err != nil {
		return nil, fmt.Errorf("schematest: compile #%s: %w", ptr, err)
	}
	s.cache[ptr] = sch
	return sch, nil
}

func (s *schemas) definitionDoc(definition string) (map[string]any, error) {
	if err := s.load(); err != nil {
		return nil, err
	}
	defs, _ := s.doc["definitions"].(map[string]any)
	d, ok := defs[definition].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("schematest: no definition %q in the Heroku schema%s", definition, suggest(definition, defs))
	}
	return d, nil
}

func (s *schemas) definition(definition string) (*jsonschema.Schema, error) {
	if _, err := s.definitionDoc(definition); err != nil {
		return nil, err
	}
	return s.compile("/definitions/" + escapePointer(definition))
}

func (s *schemas) link(definition, method, href string) (link, error) {
	d, err := s.definitionDoc(definition)
	if err != nil {
		return link{}, err
	}
	links, _ := d["links"].([]any)
	exact, loose, looseHrefs := -1, []int(nil), map[string]bool{}
	var known []string
	for i, raw := range links {
		l, _ := raw.(map[string]any)
		m, _ := l["method"].(string)
		h, _ := l["href"].(string)
		known = append(known, m+" "+h)
		if !strings.EqualFold(m, method) {
			continue
		}
		if h == href {
			exact = i
			break
		}
		if simplifyHref(h) == simplifyHref(href) {
			loose = append(loose, i)
			looseHrefs[h] = true
		}
	}
	i := exact
	if i < 0 {
		// Links may repeat a method and href (team-app has three PATCH
		// links); like an exact match, the first one wins.
		switch len(looseHrefs) {
		case 0:
			return link{}, fmt.Errorf("schematest: no link %s %s in #/definitions/%s; links are:\n\t%s",
				method, href, definition, strings.Join(known, "\n\t"))
		case 1:
			i = loose[0]
		default:
			return link{}, fmt.Errorf("schematest: %s %s matches %d links in #/definitions/%s; write the href as in the schema",
				method, href, len(looseHrefs), definition)
		}
	}
	l := links[i].(map[string]any)
	out := link{index: i}
	out.href, _ = l["href"].(string)
	out.rel, _ = l["rel"].(string)
	if _, ok := l["targetSchema"]; ok {
		out.target, err = s.compile(fmt.Sprintf("/definitions/%s/links/%d/targetSchema", escapePointer(definition), i))
		if err != nil {
			return link{}, err
		}
	}
	return out, nil
}

// prepare rewrites the Heroku hyper-schema into plain draft-04 that the
// compiler enforces as Heroku intends.
func prepare(doc map[string]any) {
	// The root names Heroku's interagent meta-schema and each definition
	// names draft-04 hyper-schema; neither is available offline, and both
	// are draft-04 underneath.
	doc["$schema"] = "http://json-schema.org/draft-04/schema#"
	defs := doc["definitions"].(map[string]any)
	for def, props := range additions {
		target := defs[def].(map[string]any)["properties"].(map[string]any)
		for name, schema := range props {
			target[name] = schema
		}
	}
	walk(doc, true)
}

// additions are the fields Keyhole adds to Heroku's resources, by
// definition (docs/heroku-compatibility.md). Each is left out of a
// response when it has nothing to say, so the resource then reads exactly
// as Heroku's.
var additions = map[string]map[string]any{
	// Team apps are answered under /apps/{app} too, with the team-app
	// resource's two flags.
	"app": {
		"joined": map[string]any{"type": []any{"boolean"}},
		"locked": map[string]any{"type": []any{"boolean"}},
	},
	// Heroku answers the viewer role that it accepts (team/team_role),
	// though the schema's read-only enum leaves it out.
	"team":                  {"role": teamRole},
	"team-member":           {"role": teamRole},
	"team-invitation":       {"role": teamRole},
	"team-app-collaborator": {"role": teamRole},
	"collaborator":          {"role": teamRole},
	"oauth-client": {
		// OpenID Connect RP-Initiated Logout.
		"post_logout_redirect_uris": map[string]any{
			"type": []any{"array"}, "minItems": 1, "maxItems": 10,
			"items": map[string]any{"type": []any{"string"}, "format": "uri"},
		},
	},
}

var teamRole = map[string]any{
	"type": []any{"null", "string"},
	"enum": []any{"admin", "collaborator", "member", "owner", "viewer", nil},
}

// walk visits every object in v. Heroku's strictProperties means "no other
// properties" but is unknown to draft-04, so it becomes additionalProperties.
func walk(v any, root bool) {
	switch v := v.(type) {
	case map[string]any:
		if !root {
			delete(v, "$schema")
		}
		if v["strictProperties"] == true {
			if _, ok := v["additionalProperties"]; !ok {
				v["additionalProperties"] = false
			}
		}
		for _, child := range v {
			walk(child, false)
		}
	case []any:
		for _, child := range v {
			walk(child, false)
		}
	}
}

var templateVar = regexp.MustCompile(`\{[^}]*\}`)

// simplifyHref replaces every URI template variable with "{}", so that
// "/apps/{(%23%2Fdefinitions%2Fapp%2Fdefinitions%2Fidentity)}" and
// "/apps/{id}" compare equal.
func simplifyHref(href string) string {
	return templateVar.ReplaceAllString(href, "{}")
}

// escapePointer escapes a JSON pointer token (RFC 6901, section 4).
func escapePointer(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

func decode(body []byte) (any, error) {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("body is not valid JSON: %w", err)
	}
	return v, nil
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case json.Number, float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// suggest names definitions that share a prefix with name, for typos such as
// "config-vars" for "config-var".
func suggest(name string, defs map[string]any) string {
	var near []string
	for k := range defs {
		if strings.HasPrefix(k, name) || strings.HasPrefix(name, k) {
			near = append(near, k)
		}
	}
	if len(near) == 0 {
		return ""
	}
	sort.Strings(near)
	return " (did you mean " + strings.Join(near, " or ") + "?)"
}

const maxBody = 4 << 10

func abbreviate(body []byte) string {
	if len(body) <= maxBody {
		return string(body)
	}
	return fmt.Sprintf("%s... (%d bytes)", body[:maxBody], len(body))
}
