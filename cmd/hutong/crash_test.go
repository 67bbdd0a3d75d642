package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/transparency-dev/tessera/client"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/demo"
	hhttp "github.com/hutong/hutong/http"
	"github.com/hutong/hutong/ledger"
)

// TestMain lets the test binary stand in for the hutong binary: the crash
// test runs it as a child process and kills it.
func TestMain(m *testing.M) {
	if os.Getenv("HUTONG_TEST_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startHub runs `hutong demo` as a child process and waits until it serves.
func startHub(t *testing.T, dir string) (*exec.Cmd, demo.Credentials) {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(os.Args[0], "demo", "--addr", addr, "--node-addr", "127.0.0.1:0", "--data", dir, "--scale", "0.02", "--log-level", "error")
	cmd.Env = append(os.Environ(), "HUTONG_TEST_RUN_MAIN=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			// The credentials of an earlier run name its address until
			// this run has written its own.
			if resp.StatusCode == 200 {
				if b, err := os.ReadFile(dir + "/demo-credentials.json"); err == nil && strings.Contains(string(b), `"http://`+addr+`"`) {
					return cmd, readCreds(t, dir)
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	cmd.Process.Kill()
	t.Fatal("the hub did not start")
	return nil, demo.Credentials{}
}

// TestCrashKeepsEveryReceipt runs load against a real hutong process, kills
// it with SIGKILL several times and restarts it, then checks that every
// receipt any client received verifies against the final log, and that
// the log is consistent.
func TestCrashKeepsEveryReceipt(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills hub processes")
	}
	dir := t.TempDir()
	cmd, creds := startHub(t, dir)
	bj, _ := credentialsOf(creds, "bjsj")
	const code, purpose = "130000-HBHJ-05", "京津冀大气污染联防联控"
	if _, err := hhttp.NewClient(creds.Hub, bj.Token).CreateRequest(context.Background(), &hutong.RequestInput{
		Resource: code, Fields: []string{"监测站点编码", "AQI"}, Purpose: purpose, ValidUntil: "2027-12-31",
		RequestsPerMinute: 1_000_000, RowsPerDay: 1_000_000_000}); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var receipts []*hutong.Receipt
	for round := range 3 {
		hub := creds.Hub
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := &http.Client{Timeout: 5 * time.Second}
				for {
					select {
					case <-stop:
						return
					default:
					}
					req, _ := http.NewRequest(http.MethodGet, hub+"/api/v1/resources/"+code+"/records?limit=2", nil)
					req.Header.Set("Authorization", "Bearer "+bj.APIKey)
					req.Header.Set("Hutong-Purpose", url.PathEscape(purpose))
					resp, err := c.Do(req)
					if err != nil {
						continue // the hub is being killed
					}
					resp.Body.Close()
					if resp.StatusCode != 200 {
						continue
					}
					r, err := hhttp.ParseReceipt(resp.Header.Get("Hutong-Receipt"))
					if err != nil {
						t.Errorf("a 200 without a valid receipt: %v", err)
						continue
					}
					mu.Lock()
					receipts = append(receipts, r)
					mu.Unlock()
				}
			}()
		}
		time.Sleep(time.Duration(800+round*300) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		close(stop)
		wg.Wait()
		cmd, creds = startHub(t, dir)
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()
	if len(receipts) < 100 {
		t.Fatalf("only %d receipts under load", len(receipts))
	}

	// Every receipt any client was given is in the log at its index, with
	// its hash, and the whole log is consistent.
	keys := fetchKeys(t, creds.Hub)
	u, _ := url.Parse(creds.Hub + "/ledger/")
	f, _ := client.NewHTTPFetcher(u, nil)
	v := &ledger.Verifier{Keys: keys, Source: f}
	maxIndex := uint64(0)
	seen := map[uint64]bool{}
	for _, r := range receipts {
		if seen[r.Index] {
			t.Fatalf("index %d was given to two calls", r.Index)
		}
		seen[r.Index] = true
		maxIndex = max(maxIndex, r.Index)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		cp, err := v.Checkpoint(context.Background())
		if err == nil && cp.Size > maxIndex {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log's checkpoint does not reach index %d: %v", maxIndex, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, r := range receipts {
		if _, err := v.VerifyReceipt(context.Background(), *r, nil); err != nil {
			t.Fatalf("receipt %d after the crashes: %v", r.Index, err)
		}
	}
	rep, err := v.VerifyLog(context.Background(), nil)
	if err != nil {
		t.Fatalf("the log after the crashes: %v", err)
	}
	t.Logf("%d receipts from 3 killed runs verified; log of %d entries consistent", len(receipts), rep.Entries)
}

func fetchKeys(t *testing.T, hub string) hutong.LedgerKeys {
	t.Helper()
	resp, err := http.Get(hub + "/ledger/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var k hutong.LedgerKeys
	if err := json.NewDecoder(resp.Body).Decode(&k); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(k.LogKey, k.Origin+"+") {
		t.Fatal(fmt.Sprint("keys ", k))
	}
	return k
}
