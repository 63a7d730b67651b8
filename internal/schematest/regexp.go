package schematest

import (
	"regexp"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// re2Equivalents maps the schema's patterns that Go's RE2 syntax cannot
// express (lookarounds) to equivalent RE2 patterns.
var re2Equivalents = map[string]string{
	// definitions/space/definitions/name: at least three characters of
	// [a-z0-9-], starting and ending with a letter or digit, with no "--".
	`^[a-z0-9](?:[a-z0-9]|-(?!-))+[a-z0-9]$`: `^(?:[a-z0-9](?:-?[a-z0-9]){2,}|[a-z0-9]-[a-z0-9])$`,
}

// compileRegexp is a jsonschema.RegexpEngine that uses Go's regexp package,
// substituting re2Equivalents. Any other pattern RE2 cannot parse fails
// compilation, so a schema update cannot silently weaken a check.
func compileRegexp(pattern string) (jsonschema.Regexp, error) {
	if equivalent, ok := re2Equivalents[pattern]; ok {
		re, err := regexp.Compile(equivalent)
		if err != nil {
			return nil, err
		}
		return translated{re, pattern}, nil
	}
	return regexp.Compile(pattern)
}

// translated matches with an RE2 equivalent but prints the schema's pattern.
type translated struct {
	*regexp.Regexp
	pattern string
}

func (t translated) String() string { return t.pattern }
