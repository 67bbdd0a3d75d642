package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/events"
	hhttp "github.com/hutong/hutong/http"
	"github.com/hutong/hutong/standard"
)

// webhookSink collects the batches a webhook receives, checking each
// signature with the subscription's secret.
type webhookSink struct {
	mu       sync.Mutex
	secret   string
	changes  []events.BatchChange
	receipts []string
	bad      int
}

func (s *webhookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	ts, _ := strconv.ParseInt(r.Header.Get(events.HeaderTimestamp), 10, 64)
	if s.secret == "" || r.Header.Get(events.HeaderSignature) != events.Sign(s.secret, ts, body) {
		s.bad++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var b events.Batch
	if err := json.Unmarshal(body, &b); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.changes = append(s.changes, b.Changes...)
	s.receipts = append(s.receipts, r.Header.Get(events.HeaderReceipt))
}

func (s *webhookSink) wait(t *testing.T, n int) []events.BatchChange {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s.mu.Lock()
		got := append([]events.BatchChange(nil), s.changes...)
		s.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("the webhook received %d changes; want %d", len(got), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSubscriptionsEndToEnd: in the demo, a Beijing system subscribed to a
// Tianjin resource receives the agreed fields, masked as agreed, of the
// rows the steward imports, over a webhook and over NATS, with receipts
// it can open; after the hub restarts, what is imported next arrives too,
// in order, and nothing twice.
func TestSubscriptionsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a demo hub twice")
	}
	t.Parallel() // its own hub on :0 in its own directory
	dir := t.TempDir()
	m := startDemo(t, dir)
	creds := readCreds(t, dir)
	ctx := context.Background()
	admin := hutong.NewContextWithActor(ctx, &hutong.Actor{User: &hutong.User{Login: "test", Roles: []hutong.Role{hutong.RoleAdmin}}})

	// A Tianjin resource held by the hub, with rows, and Beijing's consumer.
	page, err := m.HTTP.Catalog.Resources(admin, hutong.ResourceFilter{Region: "120000", Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	var res *hutong.Resource
	for _, r := range page.Items {
		if r.Hosted == hutong.HostedHub && r.Rows > 3 && r.ShareType != hutong.ShareNone {
			res = r
			break
		}
	}
	if res == nil {
		t.Fatal("no hub-hosted Tianjin resource with rows in the demo")
	}
	var consumerToken, stewardToken string
	for _, c := range creds.Consumers {
		if d, err := m.HTTP.Directory.Department(ctx, c.Department); err == nil && d.Region == "110000" {
			consumerToken = c.Token
			break
		}
	}
	for _, s := range creds.Stewards {
		if s.Department == res.Provider {
			stewardToken = s.Token
		}
	}
	if consumerToken == "" || stewardToken == "" {
		t.Fatal("no Beijing consumer or provider's steward in the demo's credentials")
	}
	consumer, steward := hhttp.NewClient(m.HTTP.URL(), consumerToken), hhttp.NewClient(m.HTTP.URL(), stewardToken)
	var fields []string
	for _, it := range res.Items {
		fields = append(fields, it.Name)
	}
	const purpose = "跨省变更订阅测试"
	req, err := consumer.CreateRequest(ctx, &hutong.RequestInput{Resource: res.Code, Fields: fields, Purpose: purpose, LegalBasis: "测试", ValidUntil: "2099-12-31"})
	if err != nil {
		t.Fatal(err)
	}
	if req.Status == hutong.RequestPending {
		if req, err = steward.Approve(ctx, req.ID, hutong.Narrowing{}); err != nil {
			t.Fatal(err)
		}
	}
	ag, err := consumer.Agreement(ctx, req.AgreementID)
	if err != nil {
		t.Fatalf("agreement of %+v: %v", req, err)
	}

	sink := &webhookSink{}
	srv := httptest.NewServer(sink)
	defer srv.Close()
	hook, err := consumer.Subscribe(ctx, &hutong.SubscriptionInput{Resource: res.Code, Purpose: purpose, Deliver: hutong.Delivery{Webhook: srv.URL + "/hutong"}})
	if err != nil {
		t.Fatal(err)
	}
	sink.mu.Lock()
	sink.secret = hook.WebhookKey
	sink.mu.Unlock()
	viaNATS, err := consumer.Subscribe(ctx, &hutong.SubscriptionInput{Resource: res.Code, Purpose: purpose, Deliver: hutong.Delivery{NATS: &struct{}{}}})
	if err != nil {
		t.Fatal(err)
	}
	// The subscriber's own user, from the API's answer, reads its subject
	// as the batches are stored.
	if viaNATS.NATS == nil || viaNATS.NATS.User == "" || viaNATS.NATS.URL == "" {
		t.Fatalf("NATS subscription without access: %+v", viaNATS.NATS)
	}
	nc, err := nats.Connect(viaNATS.NATS.URL, nats.UserInfo(viaNATS.NATS.User, viaNATS.NATS.Password))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	natsSub, err := nc.SubscribeSync(viaNATS.Subject)
	if err != nil {
		t.Fatal(err)
	}
	m.Events.Engine.Reconcile()

	// Rows to import: some the hub holds, read back and sent again.
	src, err := m.Exchange.Source(res)
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	err = src.Read(ctx, res, hutong.SourceQuery{Fields: fields, Limit: 3}, func(r hutong.SourceRow) error {
		row := map[string]any{}
		for i, f := range fields {
			if r.Values[i] != nil {
				row[f] = r.Values[i]
			}
		}
		rows = append(rows, row)
		return nil
	})
	if err != nil || len(rows) != 3 {
		t.Fatalf("read %d rows: %v", len(rows), err)
	}
	ndjson := func(rows []map[string]any) io.Reader {
		var b bytes.Buffer
		for _, r := range rows {
			text := map[string]string{}
			for k, v := range r {
				text[k] = standard.Text(v)
			}
			line, _ := json.Marshal(text)
			b.Write(append(line, '\n'))
		}
		return &b
	}
	if _, err := steward.ImportRows(ctx, res.Code, "application/x-ndjson", ndjson(rows[:2]), hutong.ImportAppend); err != nil {
		t.Fatal(err)
	}

	masker := m.Exchange.Masker.For(ag.ID)
	check := func(got []events.BatchChange, want []map[string]any) {
		t.Helper()
		for i, c := range got {
			if c.Op != hutong.OpInsert || !strings.HasPrefix(c.IdempotencyKey, hook.ID+":") && !strings.HasPrefix(c.IdempotencyKey, viaNATS.ID+":") {
				t.Errorf("change %d = %+v; want an insert with the subscription's idempotency key", i, c)
			}
			for _, f := range ag.Fields {
				v, ok := want[i][f.Name]
				if !ok {
					continue
				}
				w, _ := json.Marshal(masker.Mask(f.Masking, v))
				g, _ := json.Marshal(c.Row[f.Name])
				if string(w) != string(g) {
					t.Errorf("change %d, %s (%s): got %s, want %s", i, f.Name, f.Masking, g, w)
				}
			}
		}
	}
	got := sink.wait(t, 2)
	check(got, rows[:2])
	sink.mu.Lock()
	receipt := sink.receipts[0]
	bad := sink.bad
	sink.mu.Unlock()
	if bad != 0 {
		t.Errorf("%d deliveries with a bad signature", bad)
	}
	parts := strings.Split(receipt, "/")
	idx, err := strconv.ParseUint(parts[len(parts)-2], 10, 64)
	if err != nil {
		t.Fatalf("receipt header %q", receipt)
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		_, err := consumer.Receipt(ctx, idx) // once a checkpoint holds it
		if err == nil {
			break
		}
		if hutong.ErrorCode(err) != hutong.EUNAVAILABLE || time.Now().After(deadline) {
			t.Fatalf("the consumer cannot open its delivery's receipt %d: %v", idx, err)
		}
	}
	msg, err := natsSub.NextMsg(20 * time.Second)
	if err != nil {
		t.Fatalf("NATS delivery: %v", err)
	}
	var batch events.Batch
	if err := json.Unmarshal(msg.Data, &batch); err != nil || len(batch.Changes) == 0 {
		t.Fatalf("NATS batch %s: %v", msg.Data, err)
	}
	check(batch.Changes, rows[:len(batch.Changes)])

	// Restart the hub on the same data; the next import arrives too.
	nc.Close()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m = startDemo(t, dir)
	defer m.Close()
	steward = hhttp.NewClient(m.HTTP.URL(), stewardToken)
	if _, err := steward.ImportRows(ctx, res.Code, "application/x-ndjson", ndjson(rows[2:]), hutong.ImportAppend); err != nil {
		t.Fatal(err)
	}
	got = sink.wait(t, 3)
	check(got, rows)
	time.Sleep(300 * time.Millisecond)
	if got = sink.wait(t, 3); len(got) != 3 {
		t.Errorf("received %d changes; want 3, none twice", len(got))
	}
}
