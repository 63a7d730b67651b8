package keyholetest

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// Chromium returns the path of a Chromium to drive, or skips the test (and
// fails it in CI, where .ci/run installs Debian's chromium).
// KEYHOLE_CHROMIUM names another binary.
func Chromium(tb testing.TB) string {
	tb.Helper()
	for _, name := range []string{os.Getenv("KEYHOLE_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		tb.Fatal("no Chromium found; CI must install Debian's chromium")
	}
	tb.Skip("no Chromium found (set KEYHOLE_CHROMIUM or install chromium)")
	return ""
}

// Browser starts headless Chromium (skipping the test where there is none,
// see Chromium) and returns the context of a tab with JavaScript switched
// off, as the pages must work without it. The browser is closed when the
// test ends, and every action fails after timeout. The window is 900 by
// 900 pixels, a laptop's page for screenshots.
func Browser(tb testing.TB, timeout time.Duration) context.Context {
	tb.Helper()
	path := Chromium(tb)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(900, 900),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelTab := chromedp.NewContext(actx)
	bctx, cancelTimeout := context.WithTimeout(bctx, timeout)
	tb.Cleanup(func() { cancelTimeout(); cancelTab(); cancelAlloc() })
	if _, err := chromedp.Call(bctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		tb.Fatalf("start Chromium: %v", err)
	}
	return bctx
}
