package http_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/hutong/hutong"
	hhttp "github.com/hutong/hutong/http"
)

// partialAnswer is what a request whose body was held back got.
type partialAnswer struct {
	status int
	header http.Header
	body   []byte
	close  bool // the hub closes the connection after the answer
	// early: the answer came while the client still held the rest of the
	// body back. A server that waits for the body is given the end of the
	// stream (a half-close) after a guard of 30 seconds, and its answer,
	// if any, is late.
	early bool
}

// sendPartial writes a request by hand, head (request line and headers)
// and the first bytes of a body whose Content-Length promises more, from
// the local address from ("" for any), and reads the answer.
func sendPartial(t *testing.T, h *hub, from, head string, partial []byte) partialAnswer {
	t.Helper()
	d := net.Dialer{}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	conn, err := d.Dial("tcp", strings.TrimPrefix(h.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, head+"\r\n"); err != nil {
		t.Fatal(err)
	}
	conn.Write(partial)
	guard := time.AfterFunc(30*time.Second, func() { conn.(*net.TCPConn).CloseWrite() })
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	early := guard.Stop()
	if err != nil {
		t.Fatalf("no answer (early %v): %v", early, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return partialAnswer{status: resp.StatusCode, header: resp.Header, body: body, close: resp.Close, early: early}
}

// post returns the head of a POST of n declared bytes.
func post(path, token, contentType string, n int64) string {
	head := "POST " + path + " HTTP/1.1\r\nHost: hub\r\nContent-Type: " + contentType + "\r\nContent-Length: " + strconv.FormatInt(n, 10) + "\r\n"
	if token != "" {
		head += "Authorization: Bearer " + token + "\r\n"
	}
	return head
}

// TestBodiesRefusedBeforeReading checks that a body larger than its route's
// limit is refused from its Content-Length, and a caller who may not import
// is refused, before the hub reads the body: the answer comes while the
// client still holds all but a few bytes back, and the connection closes.
func TestBodiesRefusedBeforeReading(t *testing.T) {
	h := newHub(t) // row imports up to 1 MiB
	if status, body := h.json(t, "POST", "/api/v1/resources", h.steward, insuredJSON(h.tj.ID)); status != 201 {
		t.Fatalf("publish: %d %s", status, body)
	}
	tests := []struct {
		name   string
		head   string
		status int
		code   string // "" for the dashboard's page
	}{
		{"sign-in declaring 60 MB", post("/api/v1/sessions", "", "application/json", 60_000_000), 413, "invalid"},
		{"sign-in declaring 65 KiB", post("/api/v1/sessions", "", "application/json", 65<<10), 413, "invalid"},
		{"approval declaring 1 MiB", post("/api/v1/requests/1/approve", h.steward, "application/json", 1<<20), 413, "invalid"},
		{"resource past 256 KiB", post("/api/v1/resources", h.steward, "application/json", 257<<10), 413, "invalid"},
		{"catalog past 16 MiB", post("/api/v1/catalog/import", h.admin, "text/csv", 16<<20+1), 413, "invalid"},
		{"rows past the hub's limit", post("/api/v1/resources/120000-TJYB-03/rows", h.steward, "text/csv", 1<<20+1), 413, "invalid"},
		{"dashboard sign-in declaring 1 MiB", post("/login", "", "application/x-www-form-urlencoded", 1<<20), 413, ""},
		{"a consumer's catalog import", post("/api/v1/catalog/import", h.consume, "text/csv", 8<<20), 403, "forbidden"},
		{"a consumer's row import", post("/api/v1/resources/120000-TJYB-03/rows", h.consume, "text/csv", 1<<20), 403, "forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := sendPartial(t, h, "", tt.head, []byte(`{"login":`))
			if !a.early {
				t.Errorf("the answer came only once the body ended: the hub read (or waited for) the body")
			}
			if tt.code != "" {
				wantError(t, a.status, a.body, tt.status, tt.code)
			} else if a.status != tt.status {
				t.Errorf("got %d, want %d", a.status, tt.status)
			}
			if !a.close {
				t.Errorf("no Connection: close: the hub must not read the rest to reuse the connection")
			}
		})
	}

	// Without a declared length, the body is cut at the route's limit.
	chunked := io.MultiReader(strings.NewReader(`{"login":"`+strings.Repeat("a", 100<<10)), strings.NewReader(`","password":"x"}`))
	status, body, _ := h.call(t, "POST", "/api/v1/sessions", "", "application/json", chunked)
	wantError(t, status, body, 413, "invalid")
}

// TestBodyReadTimeout checks that a body that stops arriving is given up
// after the server's read timeout, with 408 in the error shape.
func TestBodyReadTimeout(t *testing.T) {
	t.Parallel() // its own hub; mostly waits (ledger checkpoints, timeouts)
	h := newHubWith(t, func(s *hhttp.Server) { s.ReadTimeout = 300 * time.Millisecond })
	a := sendPartial(t, h, "", post("/api/v1/sessions", "", "application/json", 100), []byte(`{"login":`))
	if !a.early {
		t.Errorf("the hub waited for the stalled body until the client gave up")
	}
	wantError(t, a.status, a.body, 408, "invalid")
}

// TestTrickledImportDoesNotBlockWriters checks that a row import whose body
// is still arriving holds no lock that sign-in, requests, approvals or key
// creation need: they all complete while the import's body is held open,
// and the import then stores every row.
func TestTrickledImportDoesNotBlockWriters(t *testing.T) {
	t.Parallel() // its own hub; mostly waits (ledger checkpoints, timeouts)
	h := newHubWith(t, func(s *hhttp.Server) { s.MaxBodyBytes = 64 << 20 })
	res := insuredJSON(h.tj.ID)
	res["code"] = "120000-TJYB-09"
	res["items"] = []map[string]any{{"name": "姓名", "element": "person_name", "required": true}, {"name": "说明", "element": "text"}}
	if status, body := h.json(t, "POST", "/api/v1/resources", h.steward, res); status != 201 {
		t.Fatalf("publish: %d %s", status, body)
	}

	row := "张三," + strings.Repeat("x", 1000) + "\n"
	// 16 MB: more than the loopback connection buffers, so when the write
	// returns the hub has read much of it; a hub that reads the body in
	// its write transaction holds the lock from then on.
	first := "姓名,说明\n" + strings.Repeat(row, 16<<20/len(row))
	pr, pw := io.Pipe()
	type result struct {
		status int
		body   []byte
	}
	imported := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest("POST", h.url+"/api/v1/resources/120000-TJYB-09/rows", pr)
		req.Header.Set("Authorization", "Bearer "+h.steward)
		req.Header.Set("Content-Type", "text/csv")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			imported <- result{status: -1, body: []byte(err.Error())}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		imported <- result{resp.StatusCode, b}
	}()
	if _, err := io.WriteString(pw, first); err != nil {
		t.Fatal(err)
	}

	// The writers, while the rest of the import is held back.
	ctx := context.Background()
	writers := make(chan error, 1)
	go func() {
		writers <- func() error {
			if _, err := hhttp.NewClient(h.url, "").SignIn(ctx, "tjyb-steward", "password-1"); err != nil {
				return fmt.Errorf("sign-in: %w", err)
			}
			req, err := hhttp.NewClient(h.url, h.consume).CreateRequest(ctx, &hutong.RequestInput{Resource: "120000-TJYB-09", Fields: []string{"姓名"},
				Purpose: "异地就医结算核验", LegalBasis: "《社会保险法》", ValidUntil: time.Now().AddDate(1, 0, 0).Format(time.DateOnly)})
			if err != nil {
				return fmt.Errorf("request: %w", err)
			}
			if _, err := hhttp.NewClient(h.url, h.steward).Approve(ctx, req.ID, hutong.Narrowing{}); err != nil {
				return fmt.Errorf("approval: %w", err)
			}
			if _, _, err := hhttp.NewClient(h.url, h.consume).CreateCredential(ctx, "", "核验系统"); err != nil {
				return fmt.Errorf("key: %w", err)
			}
			return nil
		}()
	}()
	select {
	case err := <-writers:
		if err != nil {
			t.Fatalf("while an import trickled: %v", err)
		}
	case <-time.After(60 * time.Second):
		pw.Close()
		t.Fatal("sign-in, request, approval and key creation waited for the trickled import's body")
	}
	select {
	case r := <-imported:
		t.Fatalf("the import answered %d %s before its body ended", r.status, r.body)
	default:
	}

	// The rest of the body: the import stores every row.
	io.WriteString(pw, row+row)
	pw.Close()
	r := <-imported
	var out hutong.ImportResult
	json.Unmarshal(r.body, &out)
	if want := int64(16<<20/len(row) + 2); r.status != 200 || out.Imported != want || out.TotalRows != want {
		t.Fatalf("import: %d %s, want %d rows", r.status, r.body, want)
	}
}

// bombWorkbook returns an XLSX workbook whose sheet unpacks to unpacked
// bytes of small cells (deflated to a small fraction of that).
func bombWorkbook(t testing.TB, unpacked int) []byte {
	t.Helper()
	f := excelize.NewFile()
	f.SetSheetName("Sheet1", "资源目录")
	base, err := f.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	zr, _ := zip.NewReader(bytes.NewReader(base.Bytes()), int64(base.Len()))
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestCompression) })
	for _, zf := range zr.File {
		if zf.Name != "xl/worksheets/sheet1.xml" {
			zw.Copy(zf)
			continue
		}
		w, _ := zw.Create(zf.Name)
		io.WriteString(w, `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`)
		row := `<row><c><v>1</v></c><c><v>2</v></c><c><v>3</v></c><c><v>4</v></c><c><v>5</v></c><c><v>6</v></c></row>`
		chunk := strings.Repeat(row, 1<<20/len(row))
		for n := 0; n < unpacked; n += len(chunk) {
			io.WriteString(w, chunk)
		}
		io.WriteString(w, `</sheetData></worksheet>`)
	}
	zw.Close()
	return out.Bytes()
}

// TestCatalogZipBomb checks that a small workbook that would unpack to
// hundreds of megabytes is refused with a message naming the limit, and
// nothing is stored.
func TestCatalogZipBomb(t *testing.T) {
	if testing.Short() {
		t.Skip("builds workbooks that unpack to 240 MiB (2 s); runs without -short")
	}
	h := newHub(t)
	for _, size := range []int{40 << 20, 200 << 20} {
		b := bombWorkbook(t, size)
		status, body, _ := h.call(t, "POST", "/api/v1/catalog/import", h.admin, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", bytes.NewReader(b))
		wantError(t, status, body, 400, "invalid")
		if _, msg, _ := errorOf(t, body); !strings.Contains(msg, "the workbook is refused") {
			t.Errorf("a %d-byte workbook of %d MiB: %s, want the limit named", len(b), size>>20, msg)
		}
	}
	if page, _ := hhttp.NewClient(h.url, h.admin).Resources(context.Background(), hutong.ResourceFilter{}); page.Total != 0 {
		t.Fatalf("a refused workbook stored %d resources", page.Total)
	}
}

// TestClientImportsFromFiles checks the SDK's imports from files (what the
// CLI sends): the length is declared and the body sent only when the hub
// asks for it, so a file past the limit, or an import the caller may not
// make, comes back as the hub's refusal rather than a reset connection.
func TestClientImportsFromFiles(t *testing.T) {
	h := newHub(t) // row imports up to 1 MiB
	if status, body := h.json(t, "POST", "/api/v1/resources", h.steward, insuredJSON(h.tj.ID)); status != 201 {
		t.Fatalf("publish: %d %s", status, body)
	}
	path := filepath.Join(t.TempDir(), "rows.csv")
	os.WriteFile(path, []byte("姓名,公民身份号码\n"+strings.Repeat("张三,120101199003071234\n", 200_000)), 0o600)
	ctx := context.Background()
	for _, tt := range []struct {
		who, token, code, message string
	}{
		{"the steward", h.steward, hutong.EINVALID, "larger than the limit of 1 MiB"},
		{"a consumer", h.consume, hutong.EFORBIDDEN, "may not import"},
	} {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = hhttp.NewClient(h.url, tt.token).ImportRows(ctx, "120000-TJYB-03", "text/csv", f, "")
		f.Close()
		if hutong.ErrorCode(err) != tt.code || !strings.Contains(hutong.ErrorMessage(err), tt.message) {
			t.Errorf("%s importing a 5 MB file: %v, want %s: %s", tt.who, err, tt.code, tt.message)
		}
	}
}
