package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/hutong/hutong"
	hhttp "github.com/hutong/hutong/http"
	"github.com/hutong/hutong/internal/testenv"
)

// The dashboard's browser tests drive Debian's chromium, headless, through
// chromedp against a demo hub started in the test. Without chromium they
// skip, or fail when it is required (testenv.Chromium: CHROME, else
// chromium on PATH; HUTONG_REQUIRE, CI). Screenshots of every page go to
// HUTONG_ARTIFACTS when set, else to t.ArtifactDir() (kept with
// `go test -artifacts`).

// browser is one user's tab, in a browser context of its own (its own cookies).
type browser struct {
	t     *testing.T
	ctx   context.Context
	hub   string
	shots string
}

// newBrowser starts headless chromium and returns a function that opens a
// tab in a fresh browser context.
func newBrowser(t *testing.T, hub string) func() *browser {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(testenv.Chromium.Need(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("force-color-profile", "srgb"), chromedp.Flag("lang", "zh-CN"),
		// hutong.test reaches the hub as a name that is not localhost:
		// an insecure context, where Web Crypto is missing.
		chromedp.Flag("host-resolver-rules", "MAP hutong.test 127.0.0.1"),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 800),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	root, cancelRoot := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelRoot)
	if err := chromedp.Do(root); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	shots := os.Getenv("HUTONG_ARTIFACTS")
	if shots == "" {
		shots = t.ArtifactDir()
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	return func() *browser {
		ctx, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
		t.Cleanup(cancel)
		// The first run opens the tab, which lives as long as the context
		// of that run: it must be ctx itself, not one with a timeout.
		if err := chromedp.Do(ctx); err != nil {
			t.Fatalf("opening a tab: %v", err)
		}
		return &browser{t: t, ctx: ctx, hub: hub, shots: shots}
	}
}

// do runs actions, failing the test after 45 s or on an error.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		loc, _ := chromedp.Run(b.ctx, chromedp.Location())
		b.t.Fatalf("%s (at %s): %v", what, loc, err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluating %.80s: %v", expr, err)
	}
	return v
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// open navigates to a path of the hub and waits for its main element.
func (b *browser) open(path string) {
	b.t.Helper()
	// Ready means loaded: htmx takes the page's forms at DOMContentLoaded,
	// and a click before that would be a plain submission.
	b.do("open "+path, chromedp.Navigate(b.hub+path), chromedp.WaitReady(chromedp.CSS("main")),
		chromedp.Poll[chromedp.Void](`document.readyState === 'complete'`, chromedp.WithPollingTimeout(10*time.Second)))
}

// signIn signs in through the sign-in form.
func (b *browser) signIn(login string) {
	b.t.Helper()
	b.do("sign in as "+login,
		chromedp.Navigate(b.hub+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#login"), login),
		chromedp.SendKeys(chromedp.CSS("#password"), "hutong-demo"),
		chromedp.Submit(chromedp.CSS("#login-form")),
		chromedp.WaitVisible(chromedp.CSS("nav.side")),
	)
}

// shot saves a full-page PNG screenshot.
func (b *browser) shot(name string) {
	b.t.Helper()
	b.axe(name)
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(b.shots, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
}

// chartState is what the browser reports of one chart.
type chartState struct {
	Canvas  bool `json:"canvas"`
	Width   int  `json:"width"`
	Height  int  `json:"height"`
	Painted int  `json:"painted"` // sampled pixels that are not transparent
	Series  []struct {
		Type string `json:"type"`
		Data int    `json:"data"`
	} `json:"series"`
}

// charts waits until every chart of the page is drawn and reports them.
func (b *browser) charts() map[string]chartState {
	b.t.Helper()
	b.do("charts drawn", chromedp.Poll[chromedp.Void](`document.querySelectorAll('.chart').length > 0 &&
		[...document.querySelectorAll('.chart')].every(el => el.dataset.ready === 'true' && el.querySelector('canvas'))`,
		chromedp.WithPollingTimeout(30*time.Second)),
		chromedp.Sleep(300*time.Millisecond)) // one frame for the last series to paint
	return eval[map[string]chartState](b, `(() => {
		const out = {};
		document.querySelectorAll('.chart').forEach(el => {
			const chart = echarts.getInstanceByDom(el);
			const canvas = el.querySelector('canvas');
			let painted = 0;
			if (canvas && canvas.width > 0 && canvas.height > 0) {
				const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
				for (let i = 3; i < px.length; i += 4 * 97) if (px[i] !== 0) painted++;
			}
			out[el.id] = {canvas: !!canvas, width: canvas ? canvas.width : 0, height: canvas ? canvas.height : 0, painted,
				series: chart ? chart.getOption().series.map(s => ({type: s.type, data: (s.data || []).length})) : []};
		});
		return out;
	})()`)
}

// TestDashboard walks the dashboard in a real browser: a steward approves a
// request and it leaves the inbox; the consumer sees the agreement; the
// overview's charts (the flow map included) and the environment map
// render with data; a resource can be requested from its page; feedback
// links to a verified ledger proof; ?lang=en switches the headings.
func TestDashboard(t *testing.T) {
	if testing.Short() {
		t.Skip("drives chromium through the dashboard (10 s); runs without -short")
	}
	testenv.Chromium.Need(t) // skip (or fail) before starting the hub
	start := time.Now()
	dir := t.TempDir()
	m := startDemo(t, dir)
	defer m.Close()
	creds := readCreds(t, dir)
	hub := creds.Hub
	ctx := context.Background()
	bj, _ := credentialsOf(creds, "bjsj")
	consumer := hhttp.NewClient(hub, bj.Token)

	// A pending conditional request for the steward, and an unconditional
	// agreement with a few reads, so that flows and feedback exist.
	pending, err := consumer.CreateRequest(ctx, &hutong.RequestInput{Resource: "120000-TJYB-03", Fields: []string{"姓名", "公民身份号码", "险种", "参保地"},
		Purpose: "异地就医直接结算", LegalBasis: "跨省异地就医直接结算工作通知", ValidUntil: "2027-06-30"})
	if err != nil || pending.Status != hutong.RequestPending {
		t.Fatalf("conditional request: %+v, %v", pending, err)
	}
	const airPurpose = "京津冀大气污染联防联控"
	air, err := consumer.CreateRequest(ctx, &hutong.RequestInput{Resource: "130000-HBHJ-05", Fields: []string{"监测站点编码", "所在城市", "AQI"},
		Purpose: airPurpose, ValidUntil: "2027-12-31"})
	if err != nil || air.Status != hutong.RequestApproved {
		t.Fatalf("unconditional request: %+v, %v", air, err)
	}
	for range 3 {
		if status, _, body := get(t, hub+"/api/v1/resources/130000-HBHJ-05/records?limit=5", bj.APIKey, airPurpose); status != 200 {
			t.Fatalf("read: %d %s", status, body)
		}
	}

	open := newBrowser(t, hub)
	t.Logf("hub and browser ready in %v", time.Since(start).Round(time.Millisecond))

	t.Run("sign-in", func(t *testing.T) {
		b := open()
		b.t = t
		b.open("/")
		if loc := eval[string](b, `location.pathname`); loc != "/login" {
			t.Fatalf("signed out, / went to %s, want /login", loc)
		}
		if h := b.text("h1"); h != "登录" {
			t.Errorf("sign-in heading %q, want 登录", h)
		}
		b.shot("01-signin")
		b.do("wrong password", chromedp.SendKeys(chromedp.CSS("#login"), "tjyb-steward"), chromedp.SendKeys(chromedp.CSS("#password"), "wrong"),
			chromedp.Submit(chromedp.CSS("#login-form")), chromedp.WaitVisible(chromedp.CSS(".alert.error")))
		if msg := b.text(".alert.error"); !strings.Contains(msg, "用户名或密码错误") {
			t.Errorf("wrong password says %q", msg)
		}
	})

	t.Run("steward approves", func(t *testing.T) {
		b := open()
		b.t = t
		b.signIn("tjyb-steward")
		b.open("/requests?box=inbox")
		card := "#req-" + pending.ID
		b.do("inbox shows the request", chromedp.WaitVisible(chromedp.CSS(card)))
		if s := b.text(card + " .countdown"); !strings.Contains(s, "个工作日") {
			t.Errorf("countdown %q, want the working days left", s)
		}
		b.shot("05-requests")
		b.do("approve", chromedp.Click(chromedp.CSS("#approve-"+pending.ID)), chromedp.WaitNotPresent(chromedp.CSS(card)),
			chromedp.WaitVisible(chromedp.CSS("#flash .alert.ok")))
		if s := b.text("#flash .alert.ok"); !strings.Contains(s, pending.ID) {
			t.Errorf("after approving, the message says %q", s)
		}
		b.open("/requests?box=inbox")
		if n := eval[int](b, `document.querySelectorAll('#req-`+pending.ID+`').length`); n != 0 {
			t.Errorf("the approved request is still in the inbox")
		}
	})

	var got *hutong.Request
	outbox, err := consumer.Requests(ctx, hutong.RequestFilter{Box: "outbox"})
	for _, r := range outbox {
		if r.ID == pending.ID {
			got = r
		}
	}
	if err != nil || got == nil || got.Status != hutong.RequestApproved || got.AgreementID == "" {
		t.Fatalf("after the browser approved: %+v, %v", got, err)
	}

	t.Run("consumer sees the agreement", func(t *testing.T) {
		b := open()
		b.t = t
		b.signIn("bjsj-consumer")
		b.open("/agreements")
		b.do("agreement listed", chromedp.WaitVisible(chromedp.CSS("#agreements-consumed #agr-"+got.AgreementID)))
		if s := b.text("#agr-" + got.AgreementID); !strings.Contains(s, "120000-TJYB-03") || !strings.Contains(s, "有效") {
			t.Errorf("agreement row %q", s)
		}
		b.do("create a key", chromedp.SendKeys(chromedp.CSS(`#keys input[name="name"]`), "测试系统"),
			chromedp.Click(chromedp.CSS(`#keys button.primary`)), chromedp.WaitVisible(chromedp.CSS("#new-key")))
		if key := b.text("#new-key"); !strings.HasPrefix(key, "htk_") {
			t.Errorf("new key %q", key)
		}
		b.shot("06-agreements")

		// The overview: counts and four charts with data.
		b.open("/")
		if h := b.text("h1"); h != "共享概览" {
			t.Errorf("overview heading %q", h)
		}
		charts := b.charts()
		for _, id := range []string{"chart-flows", "chart-days", "chart-hours", "chart-tags"} {
			c, ok := charts[id]
			switch {
			case !ok:
				t.Errorf("%s missing", id)
			case !c.Canvas || c.Width == 0 || c.Height == 0 || c.Painted == 0:
				t.Errorf("%s: canvas %v %dx%d, %d painted samples; want a painted canvas", id, c.Canvas, c.Width, c.Height, c.Painted)
			case len(c.Series) == 0 || c.Series[0].Data == 0:
				t.Errorf("%s: series %+v, want data", id, c.Series)
			}
		}
		if s := charts["chart-flows"].Series; len(s) == 0 || s[0].Type != "lines" {
			t.Errorf("flow map series %+v, want lines first", s)
		}
		if s := charts["chart-tags"].Series; len(s) == 0 || s[0].Type != "wordCloud" {
			t.Errorf("tag cloud series %+v", s)
		}
		// Complete days only (today is partial) and a forecast by weekday
		// with its band, 7 days ahead.
		if s := charts["chart-days"].Series; len(s) != 5 || s[0].Data != 30 || s[2].Data != 37 {
			t.Errorf("history series %+v, want 30 days of calls, their mean, a forecast over 30+7 days and its band", s)
		}
		if s := charts["chart-hours"].Series; len(s) != 1 {
			t.Errorf("48-hour series %+v, want the calls alone (no trend line)", s)
		}
		// Every chart says what it shows and has its data as a table.
		if n := eval[int](b, `[...document.querySelectorAll('.chart')].filter(c => !c.getAttribute('aria-label') || !document.getElementById(c.id + '-data')).length`); n != 0 {
			t.Errorf("%d charts without a label or a data table", n)
		}
		if n := eval[int](b, `document.querySelectorAll('#chart-days-data tbody tr').length`); n != 37 {
			t.Errorf("the history's data table has %d rows, want 30 days and 7 forecast", n)
		}
		b.shot("02-overview")

		// The catalog: a Chinese substring search through htmx.
		b.open("/catalog")
		before := b.text("#result-count")
		b.do("search 医保", chromedp.SendKeys(chromedp.CSS("#q"), "医保"),
			chromedp.Poll[chromedp.Void](`document.querySelector('#result-count').textContent.trim() !== `+jsString(before)+
				` && !!document.querySelector('#resource-list a[href="/catalog/120000-TJYB-03"]')`, chromedp.WithPollingTimeout(10*time.Second)))
		if n := eval[int](b, `document.querySelectorAll('#resource-list tbody tr').length`); n == 0 {
			t.Errorf("search 医保 shows no resource")
		}
		if q := eval[string](b, `location.search`); !strings.Contains(q, "q=") {
			t.Errorf("search not in the URL: %q", q)
		}
		// Through an IME: pinyin while composing sends nothing; the
		// committed words search at once, with no key pressed.
		b.open("/catalog")
		before = b.text("#result-count")
		b.do("type 参保 through an IME", chromedp.Focus(chromedp.CSS("#q")),
			ime("canbao"), chromedp.Sleep(700*time.Millisecond), insertText("参保"),
			chromedp.Poll[chromedp.Void](`document.querySelector('#result-count').textContent.trim() !== `+jsString(before),
				chromedp.WithPollingTimeout(10*time.Second)))
		if sent := eval[string](b, `performance.getEntriesByType('resource').map(e => e.name).filter(n => n.includes('/catalog?')).join(' ')`); strings.Contains(sent, "canbao") || !strings.Contains(sent, "q=%E5%8F%82%E4%BF%9D") {
			t.Errorf("searches sent while typing through an IME: %q; want 参保 only, never the pinyin", sent)
		}
		b.shot("03-catalog")

		// A resource's page and its request form (unconditional: granted).
		b.open("/catalog/120000-TJHJ-05")
		if n := eval[int](b, `document.querySelectorAll('#items tbody tr').length`); n < 3 {
			t.Errorf("items table has %d rows", n)
		}
		if n := eval[int](b, `document.querySelectorAll('#request-form input[name="fields"]:checked').length`); n != 0 {
			t.Errorf("the request form ticks %d items before the consumer chooses any", n)
		}
		b.do("request access", chromedp.SendKeys(chromedp.CSS(`#request-form input[name="purpose"]`), airPurpose),
			chromedp.Click(chromedp.CSS(`#request-form input[name="fields"]`)),
			chromedp.Click(chromedp.CSS(`#request-form button.primary`)),
			chromedp.WaitVisible(chromedp.CSS(`#request-result[data-status="approved"]`)))
		b.shot("04-resource")

		// The agreement's page: its terms, a governed preview with its
		// receipt, an export of the agreed fields, and the call to copy.
		b.do("open the agreement", chromedp.Click(chromedp.CSS(`#agreement-link`)), chromedp.WaitVisible(chromedp.CSS(`#agreement-terms`)),
			// htmx takes the page's forms at DOMContentLoaded; a click
			// before that is a plain GET of the preview's page.
			chromedp.Poll[chromedp.Void](`document.readyState === 'complete'`, chromedp.WithPollingTimeout(10*time.Second)))
		if curl := b.text("#curl-line"); !strings.Contains(curl, "/api/v1/resources/120000-TJHJ-05/records?fields=") || !strings.Contains(curl, "Hutong-Purpose: ") {
			t.Errorf("curl line %q", curl)
		}
		b.do("preview", chromedp.Click(chromedp.CSS(`#preview-button`)),
			chromedp.Poll[chromedp.Void](`!!document.querySelector('#preview-table')`, chromedp.WithPollingTimeout(10*time.Second)))
		if n := eval[int](b, `document.querySelectorAll('#preview-table tbody tr').length`); n == 0 || n > 10 {
			t.Errorf("preview shows %d rows, want 1 to 10", n)
		}
		if href := eval[string](b, `document.querySelector('#preview .proof-link').getAttribute('href')`); !strings.HasPrefix(href, "/proof?index=") {
			t.Errorf("preview receipt link %q", href)
		}
		csv := evalAsync[string](b, `fetch(document.querySelector('#export-csv').href).then(r => r.headers.get('Hutong-Receipt') + '\n' + r.status + '\n').then(async h => h + await (await fetch(document.querySelector('#export-csv').href)).text())`)
		if lines := strings.Split(csv, "\n"); len(lines) < 4 || !strings.HasPrefix(lines[0], "origin=") || lines[1] != "200" {
			t.Errorf("CSV export: %.300q", csv)
		}
		b.shot("04b-agreement")

		// The environment page: the map of mean AQI has data.
		b.open("/environment")
		envCharts := b.charts()
		if c := envCharts["chart-aqi"]; len(c.Series) == 0 || c.Series[0].Type != "map" || c.Series[0].Data == 0 || c.Painted == 0 {
			t.Errorf("AQI map %+v, want a painted map series with data", c)
		}
		if n := eval[int](b, `document.querySelectorAll('#cities tbody tr').length`); n < 13 {
			t.Errorf("cities table has %d rows, want the 13 of 京津冀", n)
		}
		b.shot("09-environment")

		// English, remembered across pages.
		b.open("/?lang=en")
		if h := b.text("h1"); h != "Sharing overview" {
			t.Errorf("English overview heading %q", h)
		}
		b.charts()
		b.shot("10-overview-en")
		b.open("/catalog")
		if h := b.text("h1"); h != "Government information resource catalog" {
			t.Errorf("English catalog heading %q (the language is not remembered)", h)
		}
		b.open("/?lang=zh")
		if h := b.text("h1"); h != "共享概览" {
			t.Errorf("back to Chinese: heading %q", h)
		}
	})

	t.Run("provider feedback and proof", func(t *testing.T) {
		b := open()
		b.t = t
		b.signIn("hbhj-steward")
		b.open("/feedback")
		b.do("feedback lines", chromedp.WaitVisible(chromedp.CSS("#feedback a.proof-link")))
		b.charts()
		if n := eval[int](b, `document.querySelectorAll('#feedback-resources tbody tr').length`); n == 0 {
			t.Errorf("feedback has no summary by resource")
		}
		if csv := evalAsync[string](b, `fetch(document.querySelector('#feedback-export').href).then(r => r.text())`); !strings.Contains(csv, "ledger_entries") || strings.Count(csv, "\n") < 2 {
			t.Errorf("feedback export: %.300q", csv)
		}
		b.shot("07-feedback")
		href := eval[string](b, `document.querySelector('#feedback a.proof-link').getAttribute('href')`)
		if !strings.HasPrefix(href, "/proof?index=") {
			t.Fatalf("proof link %q", href)
		}
		// The entry is in a checkpoint within a second or two.
		deadline := time.Now().Add(20 * time.Second)
		for {
			b.open(href)
			if eval[bool](b, `!!document.querySelector('#verdict[data-verified="true"]')`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("entry never verified: %s", b.text("main"))
			}
			time.Sleep(500 * time.Millisecond)
		}
		if s := b.text("#verdict"); !strings.Contains(s, "✓") {
			t.Errorf("verdict %q", s)
		}
		if b.text("#entry") == "" {
			t.Errorf("the provider does not see its entry")
		}
		// The browser checks the bundle itself: every check passes, and
		// the quorum and the province are said in words.
		b.do("browser check", chromedp.WaitVisible(chromedp.CSS(`#browser-check .verdict[data-verified="true"], #browser-check .verdict[data-verified="false"]`)))
		checks := eval[map[string]string](b, `Object.fromEntries([...document.querySelectorAll('#browser-check li')].map(li => [li.dataset.check, li.dataset.ok + ' ' + li.textContent]))`)
		if v := b.text("#browser-check .verdict"); !strings.Contains(v, "✓ 本浏览器核验通过") {
			t.Errorf("browser verdict %q, checks %v", v, checks)
		}
		for _, c := range []struct{ id, want string }{
			{"keys", "法定数 2"}, {"log", "由日志密钥签名"}, {"quorum", "3 个地区中已有"},
			{"province", "数据所属省份（河北省）已联署"}, {"opening", "可打开"}, {"inclusion", "审计路径"},
		} {
			if got := checks[c.id]; !strings.HasPrefix(got, "true ") || !strings.Contains(got, c.want) {
				t.Errorf("browser check %s: %q, want it passed saying %q", c.id, got, c.want)
			}
		}
		bundleHref := eval[string](b, `document.getElementById('bundle-link').getAttribute('href')`)
		b.shot("08-proof")

		// A changed bundle fails in the browser: the page's own checker
		// run on tampered copies.
		for _, c := range []struct{ name, change, want string }{
			{"salt", `t.replace(/"salt":"(.)/, (m, c) => '"salt":"' + (c === 'A' ? 'B' : 'A'))`, "opening"},
			{"entry", `t.replace('"kind":"', '"kind":"x')`, "opening"},
			{"inclusion proof", `t.replace(/"inclusion_proof":\["/, '"inclusion_proof":["AAAA')`, "inclusion"},
			{"checkpoint's root", `t.replace(/("checkpoint":"[^"\\]*\\n\d+\\n)(.)/, (m, a, c) => a + (c === 'A' ? 'B' : 'A'))`, "error"},
		} {
			r := evalAsync[struct {
				OK    bool
				Error string
				Steps []struct {
					ID string
					OK bool
				}
			}](b, `fetch(`+jsString(bundleHref)+`).then(r => r.text()).then(t => { const c = `+c.change+`; if (c === t) throw new Error('unchanged'); return hutongCheckBundle(c, JSON.parse(document.getElementById('verify-spec').textContent)); })`)
			failed := c.want == "error" && r.Error != ""
			for _, s := range r.Steps {
				failed = failed || s.ID == c.want && !s.OK
			}
			if r.OK || !failed {
				t.Errorf("a bundle with a changed %s: %+v, want %s to fail", c.name, r, c.want)
			}
		}

		// Another province's steward sees that the entry is there, not
		// what it says, and gets no bundle.
		other := open()
		other.t = t
		other.signIn("tjhj-steward")
		other.open(href)
		if other.text("#sealed") == "" || eval[bool](other, `!!document.getElementById('entry') || !!document.getElementById('browser-check')`) {
			t.Errorf("a stranger's proof page: %s", other.text("main"))
		}
		if strings.Contains(other.text("main"), airPurpose) {
			t.Errorf("a stranger's proof page shows the purpose")
		}
		if status := evalAsync[int](other, `fetch(`+jsString(bundleHref)+`).then(r => r.status)`); status != 403 {
			t.Errorf("a stranger's bundle: %d, want 403", status)
		}

		// Where Web Crypto is missing (not HTTPS, not localhost) the page
		// says so and offers the bundle.
		insecure := open()
		insecure.t = t
		insecure.hub = strings.Replace(hub, "127.0.0.1", "hutong.test", 1)
		insecure.signIn("hbhj-steward")
		insecure.open(href)
		insecure.do("insecure notice", chromedp.WaitVisible(chromedp.CSS(`#browser-check .verdict[data-verified="unavailable"]`)))
		if s := insecure.text("#browser-check .verdict"); !strings.Contains(s, "安全上下文") || insecure.text("#bundle-link") == "" {
			t.Errorf("insecure context: %q", s)
		}
	})
	t.Run("every page at desktop and phone width in both languages", func(t *testing.T) {
		b := open()
		b.t = t
		b.signIn("tjyb-steward")
		pages := map[string]string{"overview": "/", "catalog": "/catalog", "resource": "/catalog/120000-TJYB-03", "requests": "/requests",
			"agreements": "/agreements", "feedback": "/feedback", "contributions": "/contributions", "proof": "/proof", "environment": "/environment",
			"cockpit": "/cockpit", "catalog-import": "/catalog/import"}
		// The cockpit is for a wall screen: 1920×1080 without scrolling.
		b.do("wall screen", viewport(1920, 1080))
		b.open("/cockpit")
		b.charts()
		if h := eval[int](b, `document.documentElement.scrollHeight`); h > 1080 {
			t.Errorf("the cockpit is %d px high on a 1920×1080 screen", h)
		}
		if r := b.text("#kpi-ontime"); r != "—" && !strings.HasSuffix(r, "%") {
			t.Errorf("on-time rate %q", r)
		}
		b.shot("w1920-zh-cockpit")
		for _, width := range []int64{1440, 390} {
			b.do("viewport", viewport(width, 900))
			for _, lang := range []string{"zh", "en"} {
				b.open("/?lang=" + lang)
				for name, path := range pages {
					b.open(path)
					if w := eval[int](b, `document.documentElement.scrollWidth`); w > int(width)+1 {
						wide := eval[string](b, fmt.Sprintf(`[...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > %d)
							.slice(-3).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + e.className).join(', ')`, width))
						t.Errorf("%s at %d px (%s) is %d px wide: it scrolls sideways (%s)", name, width, lang, w, wide)
					}
					b.shot(fmt.Sprintf("w%d-%s-%s", width, lang, name)) // axe checks each
				}
			}
		}
	})
	t.Logf("dashboard walk took %v", time.Since(start).Round(time.Millisecond))
}

// viewport emulates a screen width px wide (a phone when under 600).
func viewport(width, height int64) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: width, Height: height, DeviceScaleFactor: 1, Mobile: width < 600})
		return chromedp.Void{}, err
	}
}

// evalAsync evaluates a JavaScript expression that yields a promise and
// returns what it resolves to.
func evalAsync[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluating %.80s: %v", expr, err)
	}
	return v
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`).Replace(s) + "'"
}

// ime opens an IME composition holding text (pinyin), as a Chinese input
// method does before the user picks the words.
func ime(text string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, input.ImeSetComposition, input.ImeSetCompositionParams{Text: text, SelectionStart: int64(len(text)), SelectionEnd: int64(len(text))})
		return chromedp.Void{}, err
	}
}

// insertText commits text as an IME does: input events, no key presses.
func insertText(text string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, input.InsertText, input.InsertTextParams{Text: text})
		return chromedp.Void{}, err
	}
}

//go:embed testdata/axe.min.js
var axeScript string

// axe runs axe-core (scripts/vendor-axe.sh) on the page and fails the test
// on each violation of serious or critical impact, naming the rule and
// the first elements it found.
func (b *browser) axe(page string) {
	b.t.Helper()
	found := evalAsync[string](b, axeScript+`;
		axe.run(document, {resultTypes: ['violations']}).then(r => JSON.stringify(r.violations
			.filter(v => v.impact === 'serious' || v.impact === 'critical')
			.map(v => v.impact + ' ' + v.id + ': ' + v.help + ' at ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '))))`)
	var vs []string
	if err := json.Unmarshal([]byte(found), &vs); err != nil {
		b.t.Fatalf("axe on %s: %v (%.200s)", page, err, found)
	}
	for _, v := range vs {
		b.t.Errorf("axe on %s: %s", page, v)
	}
}
