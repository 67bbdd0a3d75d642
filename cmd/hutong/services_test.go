package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/demo"
)

// call sends one JSON call to the hub and returns the status and body.
func call(t *testing.T, method, url, token, body string) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = bytes.NewBufferString(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestServicesEndToEnd runs the story on the real demo hub: a
// Hebei insured person files 异地就医备案 (received in Beijing, decided by
// the Hebei medical-insurance bureau), previews and confirms the evidence
// gathered from Hebei and Beijing, and the Hebei officer approves it;
// the officer never sees evidence before confirmation, and every fetch
// has a receipt the ledger serves.
func TestServicesEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a demo hub for the services story (the http tests drive the same API); runs without -short")
	}
	t.Parallel() // boots its own hub on :0 in its own directory
	dir := t.TempDir()
	m := startDemo(t, dir)
	defer m.Close()
	creds := readCreds(t, dir)
	token := map[string]string{}
	for _, a := range creds.Applicants {
		token[a.Login] = a.Token
	}
	for _, o := range creds.Officers {
		token[o.Login] = o.Token
	}
	if len(creds.Applicants) != 4 || len(creds.Officers) < 4 || token["hb-person"] == "" || token["hbyb-officer"] == "" {
		t.Fatalf("credentials: applicants %+v, officers %+v", creds.Applicants, creds.Officers)
	}
	api := creds.Hub + "/api/v1"
	status, body := call(t, "GET", api+"/services", creds.AdminToken, "")
	var list struct{ Items []hutong.Service }
	if json.Unmarshal(body, &list); status != 200 || len(list.Items) != 4 {
		t.Fatalf("services: %d %s", status, body)
	}
	depts := map[string]string{}
	for _, d := range demo.Departments(m.Config.Seed) {
		depts[d.Short] = d.ID
	}
	var svc hutong.Service
	status, body = call(t, "GET", api+"/services/JJJ-YB-0001", token["hb-person"], "")
	if json.Unmarshal(body, &svc); status != 200 || svc.Receiving != depts["BJSJ"] || svc.Handling != depts["HBYB"] {
		t.Fatalf("异地就医备案: %d %s", status, body)
	}

	var app hutong.Application
	status, body = call(t, "POST", api+"/applications", token["hb-person"], `{"service":"JJJ-YB-0001"}`)
	if json.Unmarshal(body, &app); status != 201 || app.Status != hutong.AppAwaitingConfirmation || len(app.Evidence) != 2 {
		t.Fatalf("filing: %d %s", status, body)
	}
	for _, e := range app.Evidence {
		if e.Status != hutong.EvidenceFetched || e.Rows < 1 || e.Receipt == nil {
			t.Fatalf("evidence %d from %s: %s, %d rows (%s)", e.N, e.Resource, e.Status, e.Rows, e.Error)
		}
	}
	receipts := app.Evidence
	id := api + "/applications/" + app.ID
	var seen hutong.Application
	status, body = call(t, "GET", id, token["hbyb-officer"], "")
	if json.Unmarshal(body, &seen); status != 200 || seen.Evidence[0].Records != nil || seen.Evidence[1].Records != nil {
		t.Fatalf("the officer before confirmation: %d %s", status, body)
	}
	for n := 1; n <= 2; n++ {
		if status, body := call(t, "POST", fmt.Sprintf("%s/evidence/%d/confirm", id, n), token["hb-person"], ""); status != 200 {
			t.Fatalf("confirm %d: %d %s", n, status, body)
		}
	}
	status, body = call(t, "GET", id, token["hbyb-officer"], "")
	if json.Unmarshal(body, &seen); status != 200 || seen.Status != hutong.AppSubmitted || len(seen.Evidence[0].Records) < 1 || seen.ReplyBy == "" {
		t.Fatalf("the officer after confirmation: %d %s", status, body)
	}
	if status, body := call(t, "POST", id+"/decision", token["bjsj-window"], `{"decision":"approve"}`); status != 403 {
		t.Errorf("the receiving window deciding: %d %s, want 403", status, body)
	}
	if status, body := call(t, "POST", id+"/decision", token["hbyb-officer"], `{"decision":"approve"}`); status != 200 {
		t.Fatalf("approve: %d %s", status, body)
	}
	status, body = call(t, "GET", id, token["hb-person"], "")
	if json.Unmarshal(body, &app); status != 200 || app.Status != hutong.AppApproved || app.DecidedBy != "user:hbyb-officer" {
		t.Errorf("the applicant's view: %d %s", status, body)
	}
	if status, _ := call(t, "GET", id, token["tj-person"], ""); status != 404 {
		t.Errorf("another applicant: %d, want 404", status)
	}
	// The person sees the reads of their data: at least the two fetches.
	var uses struct{ Items []hutong.DataUse }
	status, body = call(t, "GET", api+"/me/data-uses", token["hb-person"], "")
	if json.Unmarshal(body, &uses); status != 200 || len(uses.Items) < 2 {
		t.Errorf("data uses: %d %s", status, body)
	}
	found := map[uint64]bool{}
	for _, u := range uses.Items {
		found[u.Index] = true
	}
	for _, e := range receipts {
		if !found[e.Receipt.Index] {
			t.Errorf("data uses lack the fetch of evidence %d (entry %d)", e.N, e.Receipt.Index)
		}
	}
	// Each fetch's receipt is proved by the ledger once a checkpoint
	// covers it.
	for _, e := range receipts {
		deadline := time.Now().Add(20 * time.Second)
		for {
			status, body := call(t, "GET", fmt.Sprintf("%s/receipts/%d", api, e.Receipt.Index), creds.AdminToken, "")
			if status == 200 {
				break
			}
			if status != 503 || time.Now().After(deadline) {
				t.Errorf("receipt %d of evidence %d: %d %s", e.Receipt.Index, e.N, status, body)
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}
