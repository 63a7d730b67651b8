// Package secretcmp is a go/analysis pass that reports a secret compared
// in variable time: with ==, != or a switch, or with bytes.Equal,
// strings.Compare or strings.EqualFold. Such a comparison returns as soon
// as a byte differs, so its time tells an attacker how much of a guess was
// right; secrets are compared with crypto/subtle.ConstantTimeCompare (or
// hmac.Equal) instead.
//
// A value holds a secret when
//   - its type is token.Secret (the type of every secret Keyhole makes,
//     from a package whose path ends in internal/token), or a method of
//     such a value gives it (Reveal);
//   - or it is named as one: a variable, parameter, field, function or
//     method whose name has one of the words in Words (case and camel
//     case aside: CodeChallenge, csrfToken, SecretHash, recoveryHash);
//   - or it is a conversion, index or slice of such a value;
//
// and its type is a string, a byte slice or a byte array. A comparison
// with a constant (the empty string, a literal, a named constant) or nil
// tells nothing of the secret and is allowed, as are comparisons of
// lengths, kinds and ids, whose names are not secret words.
//
// A comparison reviewed as safe (say, of a value that is public though its
// name says otherwise) carries the comment
//
//	//secretcmp:ok <why>
//
// on its line or the line above; the reason is required. Test files are
// left out when the pass runs with -test=false, as .ci/run does, and so
// are the packages for tests only (whose name ends in "test", such as
// storetest): tests compare the tokens they were given.
package secretcmp

import (
	"go/ast"
	"go/token"
	"go/types"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/tools/go/analysis"
)

// Words are the words of a name that mark a value as a secret.
var Words = []string{
	"token", "tok", "secret", "code", "codes", "mac", "hmac", "csrf", "verifier", "challenge",
	"recovery", "otp", "totp", "password", "passwd", "hash", "digest", "signature", "nonce",
	"seed", "cookie",
}

// Analyzer reports secrets compared in variable time.
var Analyzer = &analysis.Analyzer{
	Name: "secretcmp",
	Doc:  "reports secrets (tokens, codes, MACs, CSRF tokens, client secrets, recovery codes, PKCE verifiers and challenges) compared with ==, !=, switch or bytes.Equal instead of in constant time",
	Run:  run,
}

// OptOut is the comment that marks a reviewed comparison.
const OptOut = "//secretcmp:ok"

var variableTime = map[string]map[string]bool{
	"bytes":   {"Equal": true, "Compare": true},
	"strings": {"Compare": true, "EqualFold": true},
}

func run(pass *analysis.Pass) (any, error) {
	if testSupport(pass.Pkg.Path()) {
		return nil, nil
	}
	for _, f := range pass.Files {
		c := checker{pass: pass, optOut: optOuts(pass, f)}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BinaryExpr:
				if n.Op == token.EQL || n.Op == token.NEQ {
					c.compare(n, n.OpPos, n.Op.String(), n.X, n.Y)
				}
			case *ast.CallExpr:
				if name, ok := c.variableTimeFunc(n); ok && len(n.Args) == 2 {
					c.compare(n, n.Pos(), name, n.Args[0], n.Args[1])
				}
			case *ast.SwitchStmt:
				if n.Tag != nil {
					for _, s := range n.Body.List {
						for _, e := range s.(*ast.CaseClause).List {
							c.compare(e, e.Pos(), "switch", n.Tag, e)
						}
					}
				}
			}
			return true
		})
	}
	return nil, nil
}

// testSupport reports whether a package exists for tests only, as its
// name says (storetest, keyholetest, schematest): like test files, it
// compares what it was given.
func testSupport(path string) bool {
	return strings.HasSuffix(path[strings.LastIndexByte(path, '/')+1:], "test")
}

type checker struct {
	pass *analysis.Pass
	// optOut holds the lines of the file that carry a reasoned opt-out.
	optOut map[int]bool
}

// optOuts finds the lines a reasoned opt-out comment covers: its own and
// the next. An opt-out without a reason is reported.
func optOuts(pass *analysis.Pass, f *ast.File) map[int]bool {
	lines := map[int]bool{}
	for _, g := range f.Comments {
		for _, cm := range g.List {
			if !strings.HasPrefix(cm.Text, OptOut) {
				continue
			}
			if strings.TrimSpace(strings.TrimPrefix(cm.Text, OptOut)) == "" {
				pass.Reportf(cm.Pos(), "%s needs a reason: say why this comparison is safe", OptOut)
				continue
			}
			line := pass.Fset.Position(cm.Pos()).Line
			lines[line], lines[line+1] = true, true
		}
	}
	return lines
}

// compare reports the comparison of x and y at pos when one of them is a
// secret and neither is a constant.
func (c checker) compare(n ast.Node, pos token.Pos, op string, x, y ast.Expr) {
	if c.constant(x) || c.constant(y) {
		return
	}
	var secret ast.Expr
	switch {
	case c.secret(x):
		secret = x
	case c.secret(y):
		secret = y
	default:
		return
	}
	if c.optOut[c.pass.Fset.Position(n.Pos()).Line] {
		return
	}
	c.pass.Reportf(pos, "secret %s compared with %s: its time tells how much of a guess is right; use crypto/subtle.ConstantTimeCompare (or mark a reviewed case %s <why>)",
		describe(secret), op, OptOut)
}

// variableTimeFunc reports whether call is one of the variable-time
// comparisons of the standard library, and its name.
func (c checker) variableTimeFunc(call *ast.CallExpr) (string, bool) {
	sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr)
	if !ok {
		return "", false
	}
	fn, ok := c.pass.TypesInfo.Uses[sel.Sel].(*types.Func)
	if !ok || fn.Pkg() == nil {
		return "", false
	}
	if variableTime[fn.Pkg().Path()][fn.Name()] && fn.Type().(*types.Signature).Recv() == nil {
		return fn.Pkg().Path() + "." + fn.Name(), true
	}
	return "", false
}

// constant reports whether e is a constant or nil.
func (c checker) constant(e ast.Expr) bool {
	tv, ok := c.pass.TypesInfo.Types[e]
	return ok && (tv.Value != nil || tv.IsNil())
}

// secret reports whether e holds a secret of a comparable kind: a string,
// a byte slice or a byte array.
func (c checker) secret(e ast.Expr) bool {
	tv, ok := c.pass.TypesInfo.Types[e]
	if !ok || !bytesLike(tv.Type) {
		return false
	}
	return c.holdsSecret(e)
}

func (c checker) holdsSecret(e ast.Expr) bool {
	if tv, ok := c.pass.TypesInfo.Types[e]; ok && isSecretType(tv.Type) {
		return true
	}
	switch e := ast.Unparen(e).(type) {
	case *ast.Ident:
		return secretName(e.Name)
	case *ast.SelectorExpr:
		return secretName(e.Sel.Name)
	case *ast.IndexExpr:
		return c.holdsSecret(e.X)
	case *ast.SliceExpr:
		return c.holdsSecret(e.X)
	case *ast.StarExpr:
		return c.holdsSecret(e.X)
	case *ast.CallExpr:
		if tv, ok := c.pass.TypesInfo.Types[e.Fun]; ok && tv.IsType() && len(e.Args) == 1 {
			return c.holdsSecret(e.Args[0]) // a conversion
		}
		switch fun := ast.Unparen(e.Fun).(type) {
		case *ast.Ident:
			if secretName(fun.Name) {
				return true // a function named as giving a secret
			}
		case *ast.SelectorExpr:
			// A method of a secret (s.Reveal()), or a function or method
			// named as giving one (token.Hash).
			if _, isPkg := c.pass.TypesInfo.Uses[identOf(fun.X)].(*types.PkgName); !isPkg && c.holdsSecret(fun.X) {
				return true
			}
			if secretName(fun.Sel.Name) {
				return true
			}
		}
		// What is made from a secret, or read under a secret's name.
		for _, a := range e.Args {
			if c.holdsSecret(a) || secretKey(a) {
				return true // S256(verifier), Sum256(token), Get("code")
			}
		}
	}
	return false
}

// secretKey reports whether e is a string literal naming a secret, as the
// key of a form value or header ("code", "csrf", "client_secret").
func secretKey(e ast.Expr) bool {
	lit, ok := ast.Unparen(e).(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return false
	}
	v, err := strconv.Unquote(lit.Value)
	return err == nil && !strings.ContainsAny(v, " %") && secretName(v)
}

func identOf(e ast.Expr) *ast.Ident {
	id, _ := ast.Unparen(e).(*ast.Ident)
	return id
}

// isSecretType reports whether t is token.Secret, or a pointer to it.
func isSecretType(t types.Type) bool {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := t.(*types.Named)
	if !ok || n.Obj().Pkg() == nil {
		return false
	}
	path := n.Obj().Pkg().Path()
	return n.Obj().Name() == "Secret" && (path == "internal/token" || strings.HasSuffix(path, "/internal/token"))
}

// bytesLike reports whether values of t are text or bytes: a string, a
// byte slice or a byte array (a digest).
func bytesLike(t types.Type) bool {
	switch u := t.Underlying().(type) {
	case *types.Basic:
		return u.Info()&types.IsString != 0
	case *types.Slice:
		b, ok := u.Elem().Underlying().(*types.Basic)
		return ok && b.Kind() == types.Byte
	case *types.Array:
		b, ok := u.Elem().Underlying().(*types.Basic)
		return ok && b.Kind() == types.Byte
	case *types.Pointer:
		return bytesLike(u.Elem())
	}
	return false
}

// secretName reports whether one of the words of name is a secret word.
func secretName(name string) bool {
	for _, w := range SplitWords(name) {
		for _, s := range Words {
			if w == s {
				return true
			}
		}
	}
	return false
}

// SplitWords splits an identifier into its lower-case words: camel case,
// initialisms and underscores (CSRFToken: csrf, token; secret_hash:
// secret, hash; userCode: user, code).
func SplitWords(name string) []string {
	var out []string
	rs := []rune(name)
	start := 0
	flush := func(end int) {
		if end > start {
			out = append(out, strings.ToLower(string(rs[start:end])))
		}
		start = end
	}
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '_' || unicode.IsDigit(r):
			flush(i)
			start = i + 1
		case i > start && unicode.IsUpper(r) && (unicode.IsLower(rs[i-1]) || (i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1]))):
			flush(i)
		}
	}
	flush(len(rs))
	return out
}

// describe names the secret operand for the message.
func describe(e ast.Expr) string {
	switch e := ast.Unparen(e).(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return describe(e.X) + "." + e.Sel.Name
	case *ast.CallExpr:
		return describe(e.Fun) + "(…)"
	case *ast.IndexExpr:
		return describe(e.X) + "[…]"
	case *ast.SliceExpr:
		return describe(e.X) + "[…:…]"
	case *ast.StarExpr:
		return "*" + describe(e.X)
	}
	return "value"
}
