package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/hutong/hutong/internal/testenv"
)

// TestServicesDashboard walks one full application in a real browser: a
// Hebei insured person, on a phone-sized screen (390 px), files 异地就医备案
// (received in Beijing), previews the evidence, confirms one piece and
// withdraws the other; the Hebei medical-insurance officer, on a desktop,
// sees only the confirmed piece and approves; the person sees the outcome
// and the reads of their data with proofs.
func TestServicesDashboard(t *testing.T) {
	if testing.Short() {
		t.Skip("drives chromium through the services pages; runs without -short")
	}
	testenv.Chromium.Need(t)
	dir := t.TempDir()
	m := startDemo(t, dir)
	defer m.Close()
	creds := readCreds(t, dir)
	open := newBrowser(t, creds.Hub)

	person := open()
	person.t = t
	person.do("phone-sized", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	person.signIn("hb-person")
	person.open("/services")
	if h := person.text("h1"); h != "跨省通办" {
		t.Errorf("services heading %q, want 跨省通办", h)
	}
	if w := eval[int](person, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("the services page is %d px wide on a 390 px screen: %s", w, eval[string](person, `[...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > 391).slice(0, 6).map(e => e.tagName + "." + e.className + "#" + e.id + ":" + Math.round(e.getBoundingClientRect().right)).join(" ")`))
	}
	person.shot("svc-01-services-390")
	person.do("apply", chromedp.Click(chromedp.CSS("#apply-JJJ-YB-0001")), chromedp.WaitVisible(chromedp.CSS("#ev-2")))
	if s := eval[string](person, `document.querySelector('#app-status').dataset.status`); s != "awaiting_confirmation" {
		t.Fatalf("after filing: %s, want awaiting_confirmation", s)
	}
	if n := eval[int](person, `document.querySelectorAll('#ev-1 .record').length`); n < 1 {
		t.Errorf("the applicant previews %d records of evidence 1, want at least 1", n)
	}
	if w := eval[int](person, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("the application page is %d px wide on a 390 px screen", w)
	}
	id := eval[string](person, `location.pathname.split('/').pop()`)
	person.shot("svc-02-preview-390")
	person.do("confirm 1", chromedp.Click(chromedp.CSS("#confirm-1")), chromedp.WaitVisible(chromedp.CSS(`#ev-1[data-status="confirmed"]`)))
	person.do("withdraw 2", chromedp.Click(chromedp.CSS("#withdraw-2")), chromedp.WaitVisible(chromedp.CSS(`#ev-2[data-status="withdrawn"]`)))
	if s := eval[string](person, `document.querySelector('#app-status').dataset.status`); s != "submitted" {
		t.Fatalf("after the choices: %s, want submitted", s)
	}

	officer := open()
	officer.t = t
	officer.signIn("hbyb-officer")
	officer.open("/services")
	officer.do("the application is listed", chromedp.WaitVisible(chromedp.CSS("#app-"+id)))
	officer.open("/applications/" + id)
	if n := eval[int](officer, `document.querySelectorAll('#ev-1 .record').length`); n < 1 {
		t.Errorf("the officer sees %d records of the confirmed piece", n)
	}
	if n := eval[int](officer, `document.querySelectorAll('#ev-2 .record').length`); n != 0 {
		t.Errorf("the officer sees %d records of the withdrawn piece, want none", n)
	}
	officer.shot("svc-03-officer")
	officer.do("approve", chromedp.Click(chromedp.CSS("#decide")), chromedp.WaitVisible(chromedp.CSS(`#app-status[data-status="approved"]`)))
	if s := officer.text("#decision"); !strings.Contains(s, "准予办理") {
		t.Errorf("the decision reads %q", s)
	}

	person.open("/applications/" + id)
	if s := eval[string](person, `document.querySelector('#app-status').dataset.status`); s != "approved" {
		t.Errorf("the applicant sees %s, want approved", s)
	}
	person.open("/my-data")
	person.do("data uses listed", chromedp.WaitVisible(chromedp.CSS("#data-uses")))
	if n := eval[int](person, `document.querySelectorAll('#data-uses tbody tr').length`); n < 2 {
		t.Errorf("my data lists %d reads, want the two fetches at least", n)
	}
	if w := eval[int](person, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("my data is %d px wide on a 390 px screen", w)
	}
	person.shot("svc-04-mydata-390")
	person.do("a proof verifies", chromedp.Click(chromedp.CSS("#data-uses .proof-link")), chromedp.WaitReady(chromedp.CSS("main")))
	if loc := eval[string](person, `location.pathname`); loc != "/proof" {
		t.Errorf("the proof link went to %s", loc)
	}
}
