package cli_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/keyhole/keyhole/internal/cli"
	"github.com/keyhole/keyhole/internal/keyholetest"
)

var update = flag.Bool("update", false, "rewrite the golden help texts in testdata/script")

const password = "correct horse battery"

// TestMain makes the test binary also the commands the scripts run:
// keyhole itself, exits (keyhole with an expected exit code) and
// approve-browser (a person approving a login in a browser, over HTTP).
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"keyhole":         func() { os.Exit(keyholeMain(os.Args)) },
		"exits":           exitsMain,
		"approve-browser": approveBrowserMain,
	})
}

func keyholeMain(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return cli.Main(ctx, args, cli.Env{Getenv: os.Getenv, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
}

// exitsMain is `exits CODE keyhole ARGS…`: it runs keyhole and succeeds
// when keyhole exits with CODE.
func exitsMain() {
	if len(os.Args) < 3 || os.Args[2] != "keyhole" {
		fmt.Fprintln(os.Stderr, "usage: exits CODE keyhole ARGS…")
		os.Exit(99)
	}
	want, _ := strconv.Atoi(os.Args[1])
	got := keyholeMain(os.Args[2:])
	if got != want {
		fmt.Fprintf(os.Stderr, "exits: keyhole exited %d, want %d\n", got, want)
		os.Exit(98)
	}
	os.Exit(0)
}

var hiddenRe = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// approveBrowserMain is the BROWSER the login scripts set: a person who
// opens the URL, signs in as APPROVE_EMAIL with APPROVE_PASSWORD, and
// allows the login (denies it when APPROVE_DENY=1), with a cookie jar and
// the pages' forms, over HTTP.
func approveBrowserMain() {
	if err := approveBrowser(os.Args[1], os.Getenv("APPROVE_EMAIL"), os.Getenv("APPROVE_PASSWORD"), os.Getenv("APPROVE_DENY") == "1"); err != nil {
		fmt.Fprintln(os.Stderr, "approve-browser:", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "approve-browser: answered")
	os.Exit(0)
}

func approveBrowser(start, email, pw string, deny bool) error {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	base, err := url.Parse(start)
	if err != nil {
		return err
	}
	get := func(u string) (*http.Response, string, error) {
		ref, err := url.Parse(u)
		if err != nil {
			return nil, "", err
		}
		resp, err := c.Get(base.ResolveReference(ref).String())
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b), nil
	}
	post := func(u string, f url.Values) (*http.Response, string, error) {
		resp, err := c.PostForm(base.ResolveReference(&url.URL{Path: u}).String(), f)
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b), nil
	}
	form := func(body string) url.Values {
		v := url.Values{}
		for _, m := range hiddenRe.FindAllStringSubmatch(body, -1) {
			v.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
		}
		return v
	}
	resp, _, err := get(base.RequestURI())
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?") {
		return fmt.Errorf("GET %s: %d, want a redirect to sign in", start, resp.StatusCode)
	}
	_, page, err := get(resp.Header.Get("Location"))
	if err != nil {
		return err
	}
	f := form(page)
	f.Set("email", email)
	f.Set("password", pw)
	resp, page, err = post("/login", f)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("sign in: %d %s", resp.StatusCode, page)
	}
	_, page, err = get(resp.Header.Get("Location"))
	if err != nil {
		return err
	}
	f = form(page)
	f.Set("user_code", base.Query().Get("user_code"))
	resp, page, err = post("/device", f)
	if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="consent"`) {
		return fmt.Errorf("device page: %v %v", resp, err)
	}
	f = form(page)
	f.Set("authorize", map[bool]string{true: "Deny", false: "Allow"}[deny])
	resp, page, err = post("/device", f)
	if err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("consent: %v %v %s", resp, err, page)
	}
	return nil
}

// TestScripts runs testdata/script/*.txtar: the real commands against a
// server of their own on each backend, with an account ada@example.com
// ($EMAIL, $PASSWORD; $API_KEY is its API key) and one with two-factor
// authentication, mfa@example.com, whose login -i input (email, password,
// code) is in $WORK/mfa-code.txt (a valid code), mfa-recovery.txt (a recovery
// code) and mfa-wrong.txt. $HOME is $WORK/home.
func TestScripts(t *testing.T) {
	// The CLI is a client of the API: one backend is enough here (the
	// last: PostgreSQL where there is one); the stores' suites cover both.
	backends := keyholetest.Backends(t)
	for _, b := range backends[len(backends)-1:] {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			testscript.Run(t, testscript.Params{
				Dir:                 "testdata/script",
				UpdateScripts:       *update,
				RequireExplicitExec: true,
				Setup: func(e *testscript.Env) error {
					tb := e.T().(testing.TB)
					// Devices poll every second, not five: the scripts wait less.
					ts := keyholetest.NewServer(tb, keyholetest.Options{Store: b.Open(tb), DeviceInterval: 1})
					ts.CreateAccount(tb, "ada@example.com", password)
					ts.CreateAccount(tb, "mfa@example.com", password)
					// What login -i reads for it: email, password and a code.
					seed, codes := ts.EnableMFA(tb, "mfa@example.com", password)
					now := ts.Service.Now()
					wrong := "000000"
					for d := -1; d <= 1; d++ {
						if keyholetest.TOTPCode(tb, seed, now, d) == wrong {
							wrong = "999999"
						}
					}
					for name, code := range map[string]string{
						"mfa-code.txt": keyholetest.TOTPCode(tb, seed, now, 1), "mfa-recovery.txt": codes[0], "mfa-wrong.txt": wrong,
					} {
						if err := os.WriteFile(filepath.Join(e.WorkDir, name), []byte("mfa@example.com\n"+password+"\n"+code+"\n"), 0o600); err != nil {
							return err
						}
					}
					e.Values[serverKey{}] = scriptServer{tb, ts}
					home := filepath.Join(e.WorkDir, "home")
					if err := os.MkdirAll(home, 0o700); err != nil {
						return err
					}
					u, _ := url.Parse(ts.URL)
					for k, v := range map[string]string{
						"KEYHOLE_API_URL": ts.URL, "API_HOST": u.Host, "HOME": home,
						"EMAIL": "ada@example.com", "PASSWORD": password, "API_KEY": ts.APIKey(tb, "ada@example.com", password),
						"APPROVE_EMAIL": "ada@example.com", "APPROVE_PASSWORD": password,
						"BROWSER": "", "NETRC": "",
					} {
						e.Setenv(k, v)
					}
					return nil
				},
				Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
					"account":     cmdAccount,
					"perm":        cmdPerm,
					"json-get":    cmdJSONGet,
					"netrc-token": cmdNetrcToken,
					"sleep":       cmdSleep,
				},
			})
		})
	}
}

// serverKey keys a script's server in its testscript.Env values.
type serverKey struct{}

// scriptServer is the server of one script, with the test it runs in.
type scriptServer struct {
	tb testing.TB
	ts *keyholetest.Server
}

// account EMAIL VAR creates an account with the password $PASSWORD and
// sets $VAR to its API key.
func cmdAccount(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || neg {
		ts.Fatalf("usage: account EMAIL VAR")
	}
	s := ts.Value(serverKey{}).(scriptServer)
	s.ts.CreateAccount(s.tb, args[0], password)
	ts.Setenv(args[1], s.ts.APIKey(s.tb, args[0], password))
}

// perm FILE MODE checks a file's permission bits, such as 0600.
func cmdPerm(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: perm FILE MODE")
	}
	fi, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	want, err := strconv.ParseUint(args[1], 8, 32)
	ts.Check(err)
	if got := fi.Mode().Perm(); (got == os.FileMode(want)) == neg {
		ts.Fatalf("%s has mode %#o, want %s%#o", args[0], got, map[bool]string{true: "not ", false: ""}[neg], want)
	}
}

// json-get FILE PATH VAR sets $VAR to the value at PATH (dot-separated
// keys and indexes, such as 0.id) of the JSON in FILE.
func cmdJSONGet(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 || neg {
		ts.Fatalf("usage: json-get FILE PATH VAR")
	}
	var v any
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &v))
	for _, k := range strings.Split(args[1], ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i >= len(x) {
				ts.Fatalf("no %s in %s", args[1], args[0])
			}
			v = x[i]
		default:
			ts.Fatalf("no %s in %s", args[1], args[0])
		}
	}
	s, ok := v.(string)
	if !ok {
		ts.Fatalf("%s in %s is %v, not a string", args[1], args[0], v)
	}
	ts.Setenv(args[2], s)
}

// netrc-token VAR sets $VAR to the password of the netrc entry of the
// server, and fails when there is none.
func cmdNetrcToken(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: netrc-token VAR")
	}
	text := ts.ReadFile(filepath.Join(ts.Getenv("HOME"), ".netrc"))
	re := regexp.MustCompile(`machine ` + regexp.QuoteMeta(ts.Getenv("API_HOST")) + `\s+login \S+\s+password (\S+)`)
	m := re.FindStringSubmatch(text)
	if m == nil {
		ts.Fatalf("no netrc entry for %s in:\n%s", ts.Getenv("API_HOST"), text)
	}
	ts.Setenv(args[0], m[1])
}

// sleep DURATION waits.
func cmdSleep(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: sleep DURATION")
	}
	d, err := time.ParseDuration(args[0])
	ts.Check(err)
	time.Sleep(d)
}
