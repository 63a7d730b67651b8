package keyholetest

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// Agent walks pages over plain HTTP, as a browser without JavaScript
// would: it keeps cookies and does not follow redirects, so that a test
// sees every Location. A failed request fails the test.
type Agent struct {
	T      testing.TB
	Client *http.Client
	Jar    *cookiejar.Jar
}

// NewAgent returns an Agent with an empty cookie jar.
func NewAgent(tb testing.TB) *Agent {
	jar, _ := cookiejar.New(nil)
	return &Agent{T: tb, Jar: jar, Client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Page is an answer an Agent read in full.
type Page struct {
	Status   int
	Header   http.Header
	Body     string
	Location string
}

// Do sends req and reads the answer.
func (a *Agent) Do(req *http.Request) Page {
	a.T.Helper()
	resp, err := a.Client.Do(req)
	if err != nil {
		a.T.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return Page{Status: resp.StatusCode, Header: resp.Header, Body: string(body), Location: resp.Header.Get("Location")}
}

// Get fetches u.
func (a *Agent) Get(u string) Page {
	a.T.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	return a.Do(req)
}

// Post submits form to u, as an HTML form would.
func (a *Agent) Post(u string, form url.Values) Page {
	a.T.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return a.Do(req)
}

var hiddenRe = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// Form returns the hidden fields of the page's forms.
func (p Page) Form() url.Values {
	v := url.Values{}
	for _, m := range hiddenRe.FindAllStringSubmatch(p.Body, -1) {
		v.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	return v
}

// Resolve makes a Location absolute against base.
func Resolve(base, loc string) string {
	u, _ := url.Parse(base)
	l, _ := u.Parse(loc)
	return l.String()
}
