package server_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/ebbgraph/ebb/server/client"
)

// chromium returns a headless-capable Chromium or Chrome binary, or "".
func chromium() string {
	if p := os.Getenv("EBB_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell", "chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser starts a headless Chromium on a fresh profile. Without one the
// test is skipped, except under CI (CI set), where it fails.
func browser(t *testing.T) context.Context {
	t.Helper()
	bin := chromium()
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no chromium binary found, and CI is set: .ci/run installs the chromium package; set EBB_CHROMIUM to another binary")
		}
		t.Skip("no chromium binary found (install chromium, or set EBB_CHROMIUM): the page test needs a real browser")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx(t), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	return bctx
}

// poll waits until a JavaScript expression is true.
func poll(ctx context.Context, expr string) error {
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr))
	return err
}

// eval evaluates a JavaScript expression.
func eval[T any](ctx context.Context, expr string) (T, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr))
}

// The page at / shows the queue, the history and, live from the
// WebSocket, the memory of the prompt that runs: a prompt queued from the
// page's form and one from another client each end with the page showing
// "success", the peak and the bound the history reports, and one point
// per executed node and per release.
func TestPageShowsPromptMemory(t *testing.T) {
	bctx := browser(t)
	ts := start(t, defaults())
	if err := chromedp.Do(bctx, chromedp.Navigate(ts.URL+"/")); err != nil {
		t.Fatalf("loading the page: %v", err)
	}
	bctx, cancel := context.WithTimeout(bctx, 90*time.Second)
	defer cancel()
	if err := poll(bctx, `document.getElementById("conn").textContent === "connected"`); err != nil {
		t.Fatalf("the page did not connect its WebSocket: %v", err)
	}

	// From the page's form.
	if err := chromedp.Do(bctx,
		chromedp.SetValue("#workflow", string(small(0.5).raw())),
		chromedp.Click("#submit"),
	); err != nil {
		t.Fatalf("submitting from the page: %v", err)
	}
	if err := poll(bctx, `document.getElementById("submit-result").textContent.startsWith("queued ")`); err != nil {
		t.Fatalf("the page's submission: %v", err)
	}
	queued, err := eval[string](bctx, `document.getElementById("submit-result").textContent`)
	if err != nil {
		t.Fatal(err)
	}
	c := client.New(ts.URL)
	checkPage(t, bctx, c, strings.TrimPrefix(queued, "queued "))

	// From another client: the page follows the newest prompt.
	cl, conn := ts.client(t)
	r := ok(t, run(t, cl, conn, small(0.25)))
	checkPage(t, bctx, c, r.PromptID)
}

// pageView is what the page shows of the selected prompt.
type pageView struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Peak     string `json:"peak"`
	Bound    string `json:"bound"`
	Nodes    int    `json:"nodes"`
	Releases int    `json:"releases"`
	InList   bool   `json:"inList"`
}

// checkPage waits until the page shows prompt id finished, then compares
// what it shows with the history entry.
func checkPage(t *testing.T, bctx context.Context, c *client.Client, id string) {
	t.Helper()
	err := poll(bctx, fmt.Sprintf(`document.getElementById("sel-id").dataset.promptId === %q &&
		document.getElementById("sel-status").textContent === "success" &&
		document.getElementById("sel-peak").dataset.bytes !== "" &&
		document.querySelector('#history li[data-id=%q]') !== null`, id, id))
	if err != nil {
		t.Fatalf("waiting for the page to show prompt %s: %v", id, err)
	}
	v, err := eval[pageView](bctx, fmt.Sprintf(`({
		id: document.getElementById("sel-id").dataset.promptId,
		status: document.getElementById("sel-status").textContent,
		peak: document.getElementById("sel-peak").dataset.bytes,
		bound: document.getElementById("sel-bound").dataset.bytes,
		nodes: document.querySelectorAll("#chart circle.node").length,
		releases: document.querySelectorAll("#chart .release").length,
		inList: document.querySelector('#history li[data-id=%q]').textContent.includes("success"),
	})`, id))
	if err != nil {
		t.Fatal(err)
	}
	e, found, err := c.History(context.Background(), id)
	if err != nil || !found {
		t.Fatalf("history of %s: %v", id, err)
	}
	wantNodes, wantReleases := 0, 0
	for _, p := range e.Ebb.Timeline {
		switch p.Kind {
		case "node":
			wantNodes++
		case "release":
			wantReleases++
		}
	}
	if v.Status != "success" || v.Peak != strconv.FormatInt(e.Ebb.Peak, 10) || v.Bound != strconv.FormatInt(e.Ebb.Bound, 10) || e.Ebb.Peak <= 0 {
		t.Errorf("page shows %+v; history says peak %d, bound %d", v, e.Ebb.Peak, e.Ebb.Bound)
	}
	if v.Nodes != wantNodes || v.Releases != wantReleases || v.Nodes == 0 || !v.InList {
		t.Errorf("page shows %+v, history has %d nodes and %d releases", v, wantNodes, wantReleases)
	}
}
