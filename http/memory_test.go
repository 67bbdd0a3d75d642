package http_test

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/xuri/excelize/v2"

	hhttp "github.com/hutong/hutong/http"
)

// memoryHubEnv makes TestMemoryBoundHub serve: the test binary started
// again by TestImportMemoryBound, as a hub of its own whose memory is
// measured from outside.
const memoryHubEnv = "HUTONG_TEST_MEMORY_HUB"

// memoryHub is what the hub process tells the test.
type memoryHub struct {
	URL, Admin, Steward, Provider string
}

// TestMemoryBoundHub is the hub process of TestImportMemoryBound: a hub
// with the production limits on a SQLite store, serving until its standard
// input closes. It skips unless started by that test.
func TestMemoryBoundHub(t *testing.T) {
	if os.Getenv(memoryHubEnv) == "" {
		t.Skip("the hub process of TestImportMemoryBound")
	}
	h := newHubWith(t, func(s *hhttp.Server) { s.MaxBodyBytes = hhttp.DefaultMaxBodyBytes })
	res := insuredJSON(h.tj.ID)
	res["code"] = "120000-TJYB-09"
	res["items"] = []map[string]any{{"name": "姓名", "element": "person_name", "required": true}, {"name": "说明", "element": "text"}}
	if status, body := h.json(t, "POST", "/api/v1/resources", h.steward, res); status != 201 {
		t.Fatalf("publish: %d %s", status, body)
	}
	b, _ := json.Marshal(memoryHub{URL: h.url, Admin: h.admin, Steward: h.steward, Provider: h.tj.ID})
	fmt.Printf("hub %s\n", b)
	io.Copy(io.Discard, os.Stdin)
}

// vmHWM returns the peak resident set of process pid in bytes.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

// rowsBody generates n bytes of CSV rows of the memory hub's resource,
// without holding them: full rows, then one whose text makes up the rest.
type rowsBody struct {
	left int
	tail string
}

const memoryRow = "张三," + "This is a row of text as long as a long remark in a register of insured persons. " +
	"It is repeated so that the import is just under its limit. 备注：异地就医结算 参保地天津市。\n"

func (b *rowsBody) Read(p []byte) (int, error) {
	n := 0
	for n+len(memoryRow) <= len(p) && b.left >= 2*len(memoryRow) {
		n += copy(p[n:], memoryRow)
		b.left -= len(memoryRow)
	}
	if n > 0 {
		return n, nil
	}
	if b.tail == "" && b.left > 0 {
		b.tail = "张三," + strings.Repeat("x", b.left-len("张三,")-1) + "\n"
		b.left = 0
	}
	if b.tail == "" {
		return 0, io.EOF
	}
	n = copy(p, b.tail)
	b.tail = b.tail[n:]
	return n, nil
}

// TestImportMemoryBound runs a hub in a process of its own and checks that
// one request just under each import route's limit, and sign-ins with
// bodies far past theirs, raise its peak resident memory (VmHWM) by at
// most 256 MB.
func TestImportMemoryBound(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a hub process and sends it 100 MB")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMemoryBoundHub$", "-test.count=1")
	cmd.Env = append(os.Environ(), memoryHubEnv+"=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	var hub memoryHub
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "hub "); ok {
			json.Unmarshal([]byte(v), &hub)
			break
		}
	}
	if hub.URL == "" {
		t.Fatal("the hub process did not start")
	}
	go io.Copy(io.Discard, stdout)
	pid := cmd.Process.Pid

	send := func(path, token, contentType string, body io.Reader, n int64) (int, string) {
		req, _ := http.NewRequest("POST", hub.URL+path, body)
		req.ContentLength = n
		req.Header.Set("Content-Type", contentType)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return resp.StatusCode, string(b)
	}
	const bound = 256 << 20
	check := func(what string, before int64) {
		t.Helper()
		after := vmHWM(t, pid)
		t.Logf("%s: peak RSS %d MiB → %d MiB (+%d MiB)", what, before>>20, after>>20, (after-before)>>20)
		if after-before > bound {
			t.Errorf("%s raised the hub's peak RSS by %d MiB, more than %d MiB", what, (after-before)>>20, bound>>20)
		}
	}

	// Rows: just under 64 MiB.
	before := vmHWM(t, pid)
	n := int64(hhttp.DefaultMaxBodyBytes - 4096)
	header := "姓名,说明\n"
	status, body := send("/api/v1/resources/120000-TJYB-09/rows", hub.Steward, "text/csv",
		io.MultiReader(strings.NewReader(header), &rowsBody{left: int(n) - len(header)}), n)
	if status != 200 {
		t.Errorf("row import of %d bytes: %d %.300s", n, status, body)
	}
	check("a 64 MiB row import", before)

	// A catalog sheet just under 16 MiB (every row names an unknown
	// provider: all parsed and checked, none stored).
	before = vmHWM(t, pid)
	var csv bytes.Buffer
	csv.WriteString("资源代码,资源名称,资源提供方,资源摘要,共享类型,信息项\n")
	summary := strings.Repeat("站点小时数据", 45)
	for i := 0; csv.Len() < hhttp.DefaultMaxCatalogBytes-4096; i++ {
		fmt.Fprintf(&csv, "X-%d,河北省空气质量%d,NO-SUCH-%d,%s,无条件共享,AQI(aqi)\n", i, i, i, summary)
	}
	status, body = send("/api/v1/catalog/import", hub.Admin, "text/csv", bytes.NewReader(csv.Bytes()), int64(csv.Len()))
	if status != 400 {
		t.Errorf("catalog sheet of %d bytes: %d %.300s", csv.Len(), status, body)
	}
	check("a 16 MiB catalog sheet", before)

	// A workbook just under 16 MiB, most of it a picture.
	before = vmHWM(t, pid)
	wb := paddedWorkbook(t, hub.Provider, hhttp.DefaultMaxCatalogBytes-64<<10)
	status, body = send("/api/v1/catalog/import", hub.Admin, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", bytes.NewReader(wb), int64(len(wb)))
	if status != 201 {
		t.Errorf("workbook of %d bytes: %d %.300s", len(wb), status, body)
	}
	check("a 16 MiB workbook", before)

	// Workbooks that unpack to 200 MiB and 1 GiB.
	for _, size := range []int{200 << 20, 1 << 30} {
		before = vmHWM(t, pid)
		bomb := bombWorkbook(t, size)
		status, body = send("/api/v1/catalog/import", hub.Admin, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", bytes.NewReader(bomb), int64(len(bomb)))
		if status != 400 {
			t.Errorf("a %d-byte workbook unpacking to %d MiB: %d %.300s", len(bomb), size>>20, status, body)
		}
		check(fmt.Sprintf("a %d KiB workbook unpacking to %d MiB", len(bomb)>>10, size>>20), before)
	}

	// 16 sign-ins at once, each sending 60 MB without a declared length.
	before = vmHWM(t, pid)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			big := io.MultiReader(strings.NewReader(`{"login":"`), io.LimitReader(zeros{}, 60_000_000))
			if status, body := send("/api/v1/sessions", "", "application/json", big, -1); status != 413 && status != 0 {
				t.Errorf("a 60 MB sign-in: %d %s", status, body)
			}
		}()
	}
	wg.Wait()
	check("16 sign-ins of 60 MB", before)
}

// zeros reads as endless 'a's.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

// paddedWorkbook returns a catalog workbook of one resource of provider,
// padded with an incompressible picture to about size bytes.
func paddedWorkbook(t *testing.T, provider string, size int) []byte {
	t.Helper()
	f := excelize.NewFile()
	f.SetSheetName("Sheet1", "资源目录")
	f.SetSheetRow("资源目录", "A1", &[]any{"资源代码", "资源名称", "资源提供方", "资源摘要", "共享类型", "信息项", "更新周期"})
	f.SetSheetRow("资源目录", "A2", &[]any{"120000-TJYB-77", "天津市医保目录", provider, "目录", "无条件共享", "AQI(aqi)", "每日"})
	base, err := f.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	zr, _ := zip.NewReader(bytes.NewReader(base.Bytes()), int64(base.Len()))
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, zf := range zr.File {
		zw.Copy(zf)
	}
	w, _ := zw.CreateHeader(&zip.FileHeader{Name: "xl/media/image1.png", Method: zip.Store})
	pad := make([]byte, size-out.Len()-1024)
	rand.Read(pad)
	w.Write(pad)
	zw.Close()
	return out.Bytes()
}
