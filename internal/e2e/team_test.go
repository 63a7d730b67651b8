package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/keyholetest"
)

// walk drives one headless Chromium tab through pages, failing the test
// at the first step that does not work, and saves screenshots.
type walk struct {
	t     *testing.T
	ctx   context.Context
	shots string
	n     int
}

// newWalk starts Chromium (see keyholetest.Browser) and picks the folder
// screenshots go to: KEYHOLE_SCREENSHOTS (under sub), or a temporary one.
func newWalk(t *testing.T, sub string) *walk {
	t.Helper()
	w := &walk{t: t, ctx: keyholetest.Browser(t, 120*time.Second), shots: os.Getenv("KEYHOLE_SCREENSHOTS")}
	if w.shots == "" {
		w.shots = t.TempDir()
	} else {
		w.shots = filepath.Join(w.shots, sub)
	}
	if err := os.MkdirAll(w.shots, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots of each page: %s", w.shots)
	return w
}

func (w *walk) step(what string, actions ...chromedp.Action[chromedp.Void]) {
	w.t.Helper()
	if err := chromedp.Do(w.ctx, actions...); err != nil {
		w.t.Fatalf("%s: %v", what, err)
	}
}

func (w *walk) text(sel string) string {
	w.t.Helper()
	v, err := chromedp.Run(w.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		w.t.Fatalf("read %s: %v", sel, err)
	}
	return v
}

func (w *walk) count(sel string) int {
	w.t.Helper()
	nodes, err := chromedp.Run(w.ctx, chromedp.Nodes(chromedp.CSSAll(sel), chromedp.AtLeast(0)))
	if err != nil {
		w.t.Fatalf("find %s: %v", sel, err)
	}
	return len(nodes)
}

// shot saves the page as NN-name.png and returns the file's path.
func (w *walk) shot(name string) string {
	w.t.Helper()
	m, err := chromedp.Call(w.ctx, cdppage.GetLayoutMetrics, cdp.Empty{})
	if err != nil {
		w.t.Fatal(err)
	}
	full := true
	r, err := chromedp.Call(w.ctx, cdppage.CaptureScreenshot, cdppage.CaptureScreenshotParams{
		Format: cdppage.CaptureScreenshotFormatPng, CaptureBeyondViewport: &full,
		Clip: &cdppage.Viewport{Width: m.CSSContentSize.Width, Height: min(m.CSSContentSize.Height, 2000), Scale: 0.75},
	})
	if err != nil {
		w.t.Fatalf("screenshot %s: %v", name, err)
	}
	w.n++
	path := filepath.Join(w.shots, fmt.Sprintf("%02d-%s.png", w.n, name))
	if err := os.WriteFile(path, r.Data, 0o644); err != nil {
		w.t.Fatal(err)
	}
	return path
}

func submit(form string) chromedp.Action[chromedp.Void] {
	return chromedp.Click(chromedp.CSS(form + ` button[type=submit]`))
}

// signIn signs in as email from the sign-in page that comes back to next.
func (w *walk) signIn(base, email, next, then string) {
	w.t.Helper()
	w.step("sign in as "+email, chromedp.Navigate(base+"/login?next="+next), chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), email), chromedp.SendKeys(chromedp.CSS("#password"), password),
		submit(`form[action="/login"]`), chromedp.WaitVisible(chromedp.CSS(then)))
}

// TestBrowserTeams walks teams and app permissions in headless Chromium
// with JavaScript off, on every backend: an admin creates a team, adds a
// member (an existing account), creates a team app, sets a config var
// and grants a collaborator (another existing account, no member of the
// team) deploy. The collaborator signs in, finds the app among theirs,
// sees its config vars, and has no delete button; the delete form posted
// anyway (another form of the page pointed at its address, with the
// page's own form token) is refused, and the app stays. Each page is
// saved as a screenshot into KEYHOLE_SCREENSHOTS/teams-<backend>, or a
// temporary folder; the test prints where.
func TestBrowserTeams(t *testing.T) {
	for _, be := range keyholetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			ts := keyholetest.NewServer(t, keyholetest.Options{Store: be.Open(t)})
			for _, e := range []string{"ada@example.com", "bob@example.com", "col@example.com"} {
				ts.CreateAccount(t, e, password)
			}
			w := newWalk(t, "teams-"+be.Name)
			base := ts.URL

			// The admin creates the team.
			w.signIn(base, "ada@example.com", "%2Fdashboard%2Fteams", "#team-name")
			w.step("create a team", chromedp.SendKeys(chromedp.CSS("#team-name"), "platform"), submit(`form[action="/dashboard/teams"]`),
				chromedp.WaitVisible(chromedp.CSS("#add-member")))
			if h := w.text("main h1"); h != "Team platform" {
				t.Fatalf("after creating the team: %q", h)
			}

			// A member: an existing account, added at once.
			w.step("add a member", chromedp.SendKeys(chromedp.CSS("#member-email"), "bob@example.com"), submit("#add-member"),
				chromedp.WaitVisible(chromedp.CSS(".notice")))
			if got := w.text(`li.member[data-email="bob@example.com"]`); !strings.Contains(got, "bob@example.com") {
				t.Fatalf("bob is not listed: %q", got)
			}
			if v, err := chromedp.Run(w.ctx, chromedp.Value(chromedp.CSS(`li.member[data-email="bob@example.com"] select`))); err != nil || v != "member" {
				t.Errorf("bob's role = %q, %v; want member", v, err)
			}

			// A team app, a config var, and a collaborator with deploy.
			w.step("create a team app", chromedp.SendKeys(chromedp.CSS("#app-name"), "web-app"), submit("#create-app"),
				chromedp.WaitVisible(chromedp.CSS("#add-collaborator")))
			if h := w.text("main h1"); h != "App web-app" {
				t.Fatalf("after creating the app: %q", h)
			}
			w.step("set a config var", chromedp.SendKeys(chromedp.CSS("#var-key"), "DATABASE_URL"),
				chromedp.SendKeys(chromedp.CSS("#var-value"), "postgres://web:s3cret@db/web"), submit("#set-var"),
				chromedp.WaitVisible(chromedp.CSS(`tr[data-key="DATABASE_URL"]`)))
			w.step("grant deploy", chromedp.SendKeys(chromedp.CSS("#collaborator-email"), "col@example.com"),
				chromedp.Click(chromedp.CSS(`#add-collaborator input[value="deploy"]`)), submit("#add-collaborator"),
				chromedp.WaitVisible(chromedp.CSS(`li.collaborator[data-email="col@example.com"]`)))
			if got := w.count(`li.collaborator[data-email="col@example.com"] input[value="deploy"]:checked`); got != 1 {
				t.Errorf("col's deploy box is not ticked")
			}
			if got := w.count(`li.collaborator[data-email="col@example.com"] input[value="manage"]:checked`); got != 0 {
				t.Errorf("col was given manage")
			}
			w.shot("team-app")
			w.step("team page", chromedp.Navigate(base+"/dashboard/teams/platform"), chromedp.WaitVisible(chromedp.CSS(`li.app#app-web-app`)))
			w.shot("team")
			w.step("sign out", submit(`header form[action="/logout"]`), chromedp.WaitVisible(chromedp.CSS("#email")))

			// The collaborator sees the app and its config vars, and may not
			// delete it.
			w.signIn(base, "col@example.com", "%2Fdashboard%2Fapps", `li.app#app-web-app`)
			if got := w.text(`li.app#app-web-app`); !strings.Contains(got, "platform") || !strings.Contains(got, "view, deploy") {
				t.Errorf("the collaborator's apps page: %q", got)
			}
			w.shot("collaborator-apps")
			w.step("open the app", chromedp.Click(chromedp.CSS(`li.app#app-web-app a[href="/dashboard/apps/web-app"]`)),
				chromedp.WaitVisible(chromedp.CSS("#config-vars")))
			if got := w.text(`tr[data-key="DATABASE_URL"] .value`); got != "postgres://web:s3cret@db/web" {
				t.Errorf("the collaborator reads DATABASE_URL = %q", got)
			}
			if n := w.count(`form[action$="/delete"]`) + w.count("#delete-app") + w.count("#add-collaborator"); n != 0 {
				t.Errorf("the collaborator has %d delete or access forms", n)
			}
			w.shot("collaborator-app")
			w.step("post the delete form anyway",
				chromedp.SetAttributeValue(chromedp.CSS(`tr[data-key="DATABASE_URL"] form`), "action", "/dashboard/apps/web-app/delete"),
				submit(`tr[data-key="DATABASE_URL"] form`), chromedp.WaitVisible(chromedp.CSS(".error")))
			if got := w.text(".error"); !strings.Contains(got, "You need the manage permission on web-app") {
				t.Errorf("the forged delete: %q", got)
			}
			w.shot("collaborator-delete-refused")
			admin, err := ts.Service.VerifyToken(context.Background(), ts.Login(t, "ada@example.com", password))
			if err != nil {
				t.Fatal(err)
			}
			app, err := ts.Service.App(context.Background(), admin, "web-app")
			if err != nil {
				t.Fatalf("the app after the forged delete: %v", err)
			}
			vars, err := ts.Service.ConfigVars(context.Background(), admin, app.ID)
			if err != nil || vars["DATABASE_URL"] != "postgres://web:s3cret@db/web" {
				t.Errorf("config vars after the forged delete: %v %v", vars, err)
			}
			members, err := ts.Service.Members(context.Background(), admin, "platform")
			if err != nil || len(members) != 2 {
				t.Errorf("members: %v %v", members, err)
			}
			for _, m := range members {
				if m.Email == "col@example.com" || (m.Email == "bob@example.com" && m.Role != keyhole.RoleMember) {
					t.Errorf("member %s is %s", m.Email, m.Role)
				}
			}
		})
	}
}
