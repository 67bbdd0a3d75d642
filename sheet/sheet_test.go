package sheet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/hutong/hutong"
)

type readRow struct {
	num int
	raw map[string]string
	err string // error code, "" for none
}

func readAll(t *testing.T, r hutong.RowReader) []readRow {
	t.Helper()
	var out []readRow
	for i := 0; i < 1000; i++ {
		num, raw, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		out = append(out, readRow{num: num, raw: raw, err: hutong.ErrorCode(err)})
	}
	t.Fatal("reader does not end")
	return nil
}

func TestCSVRows(t *testing.T) {
	gbk, _ := simplifiedchinese.GB18030.NewEncoder().String("姓名,地址\n张三,天津市和平区\n")
	tests := []struct {
		name string
		in   string
		want []readRow
	}{
		{"plain", "a,b\n1,2\n3,4\n", []readRow{{2, map[string]string{"a": "1", "b": "2"}, ""}, {3, map[string]string{"a": "3", "b": "4"}, ""}}},
		{"bom and crlf", "\ufeffa,b\r\n1,2\r\n", []readRow{{2, map[string]string{"a": "1", "b": "2"}, ""}}},
		{"gb18030 from excel", gbk, []readRow{{2, map[string]string{"姓名": "张三", "地址": "天津市和平区"}, ""}}},
		{"quoted comma and newline", "a,b\n\"x,y\",\"line1\nline2\"\n", []readRow{{2, map[string]string{"a": "x,y", "b": "line1\nline2"}, ""}}},
		{"wrong field count continues", "a,b\n1\n2,3\n", []readRow{{2, nil, hutong.EINVALID}, {3, map[string]string{"a": "2", "b": "3"}, ""}}},
		{"blank line skipped", "a,b\n\n1,2\n", []readRow{{3, map[string]string{"a": "1", "b": "2"}, ""}}},
		{"broken quote stops", "a,b\n\"x,2\n3,4\n", []readRow{{2, nil, hutong.EINVALID}}},
		{"empty file", "", []readRow{{1, nil, hutong.EINVALID}}},
		{"duplicate header", "a,a\n1,2\n", []readRow{{1, nil, hutong.EINVALID}}},
		{"empty header name", "a,,b\n1,2,3\n", []readRow{{1, nil, hutong.EINVALID}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := readAll(t, CSVRows(strings.NewReader(tt.in)))
			if len(got) != len(tt.want) {
				t.Fatalf("got %d rows %v, want %d %v", len(got), got, len(tt.want), tt.want)
			}
			for i := range got {
				if got[i].num != tt.want[i].num || got[i].err != tt.want[i].err || !sameMap(got[i].raw, tt.want[i].raw) {
					t.Errorf("row %d: got %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestNDJSONRows(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []readRow
	}{
		{"scalars", `{"a":"x","b":12.50,"c":true,"d":null}` + "\n", []readRow{{1, map[string]string{"a": "x", "b": "12.50", "c": "true", "d": ""}, ""}}},
		{"blank lines and no final newline", "\n{\"a\":\"1\"}\n\n{\"a\":\"2\"}", []readRow{{2, map[string]string{"a": "1"}, ""}, {4, map[string]string{"a": "2"}, ""}}},
		{"nested value", `{"a":{"b":1}}` + "\n" + `{"a":"ok"}`, []readRow{{1, nil, hutong.EINVALID}, {2, map[string]string{"a": "ok"}, ""}}},
		{"not an object", "[1,2]\n\"x\"\n", []readRow{{1, nil, hutong.EINVALID}, {2, nil, hutong.EINVALID}}},
		{"two values on a line", `{"a":"1"}{"a":"2"}`, []readRow{{1, nil, hutong.EINVALID}}},
		{"duplicate key", `{"a":"1","a":"2"}`, []readRow{{1, nil, hutong.EINVALID}}},
		{"invalid utf-8", "{\"a\":\"\xff\"}", []readRow{{1, nil, hutong.EINVALID}}},
		{"too long", `{"a":"` + strings.Repeat("x", MaxLine+10) + `"}`, []readRow{{1, nil, hutong.EINVALID}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := readAll(t, NDJSONRows(strings.NewReader(tt.in)))
			if len(got) != len(tt.want) {
				t.Fatalf("got %d rows %+v, want %d", len(got), got, len(tt.want))
			}
			for i := range got {
				if got[i].num != tt.want[i].num || got[i].err != tt.want[i].err || !sameMap(got[i].raw, tt.want[i].raw) {
					t.Errorf("row %d: got %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestReadCatalog(t *testing.T) {
	csv := "资源代码,资源名称,资源提供方,共享类型,信息项,标签,分级,发布日期,存储位置\n" +
		"A-1,空气,P,无条件共享,\"*站点(station_code)；时间（datetime）;姓名(person_name|hash)\",空气质量、物联网,三级,2026/1/5,节点\n" +
		"\n" +
		"A-2,人口,P,有条件共享,bad item,,五级,,\n"
	_, err := ReadCatalogCSV(strings.NewReader(csv))
	vs := hutong.ErrorDetails(err)
	if hutong.ErrorCode(err) != hutong.EINVALID || len(vs) != 2 || vs[0].Row != 4 || vs[0].Field != "level" || vs[1].Field != "items" {
		t.Fatalf("got %v %v, want row 4 level and items violations", err, vs)
	}
	cat, err := ReadCatalogCSV(strings.NewReader(strings.Replace(strings.Replace(csv, "bad item", "名称(text)", 1), "五级", "2", 1)))
	if err != nil {
		t.Fatal(err)
	}
	r := cat.Resources[0]
	if len(cat.Resources) != 2 || cat.Rows[1] != 4 || r.Level != 3 || r.PublishDate != "2026-01-05" || r.Hosted != hutong.HostedNode ||
		len(r.Tags) != 2 || len(r.Items) != 3 || !r.Items[0].Required || r.Items[1].Element != "datetime" || r.Items[2].Masking != hutong.MaskHash {
		t.Errorf("parsed %+v (rows %v)", r, cat.Rows)
	}

	for _, bad := range []string{"", "资源代码,颜色\nA,red\n", "资源名称\nx\n", "资源代码,资源名称,资源提供方,共享类型\n"} {
		if _, err := ReadCatalogCSV(strings.NewReader(bad)); hutong.ErrorCode(err) != hutong.EINVALID {
			t.Errorf("ReadCatalogCSV(%q) = %v, want invalid", bad, err)
		}
	}
	if _, err := ReadCatalog("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", strings.NewReader("PK\x03\x04junk"), 8); hutong.ErrorCode(err) != hutong.EINVALID {
		t.Errorf("broken xlsx: %v", err)
	}
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// FuzzCSVRows checks that no input makes the CSV reader panic or loop, and
// that every row it yields has exactly the header's columns.
func FuzzCSVRows(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n", "\ufeff姓名,公民身份号码\n张三,11010519491231002X\n", "a\n\"x", "a,b\n1\n", "a,a\n", "", "\xff\xfe,\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := CSVRows(bytes.NewReader(in))
		header := -1
		for i := 0; i < len(in)+2; i++ {
			_, raw, err := r.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				if hutong.ErrorCode(err) != hutong.EINVALID {
					t.Fatalf("error %v is not invalid", err)
				}
				continue
			}
			if header == -1 {
				header = len(raw)
			}
			if len(raw) != header {
				t.Fatalf("row with %d columns after one with %d", len(raw), header)
			}
			for k, v := range raw {
				if !utf8.ValidString(k) || !utf8.ValidString(v) {
					t.Fatalf("invalid UTF-8 %q=%q", k, v)
				}
			}
		}
		t.Fatalf("reader yielded more rows than the input has bytes")
	})
}

// FuzzNDJSONRows checks that no input makes the NDJSON reader panic or
// loop, and that rows come back in line order.
func FuzzNDJSONRows(f *testing.F) {
	for _, s := range []string{`{"a":"1"}`, "{\"a\":1}\n{\"b\":true}\n", `{"a":{"b":1}}`, `[1]`, `{"a":"1"}{"b":2}`, "\n\n", `{"a":1e999}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NDJSONRows(bytes.NewReader(in))
		last := 0
		for i := 0; i < len(in)+2; i++ {
			num, _, err := r.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil && hutong.ErrorCode(err) != hutong.EINVALID {
				t.Fatalf("error %v is not invalid", err)
			}
			if num <= last {
				t.Fatalf("line %d after line %d", num, last)
			}
			last = num
		}
		t.Fatalf("reader yielded more rows than the input has bytes")
	})
}

// failingReader yields data, then err.
type failingReader struct {
	data string
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.data == "" {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

// TestRowReadersReadErrors checks that a failed read of the body (too
// large, the client gone) ends the rows with that error, not with a row's
// violation, and that an overlong CSV record ends them as invalid.
func TestRowReadersReadErrors(t *testing.T) {
	cut := errors.New("body cut")
	for name, r := range map[string]hutong.RowReader{
		"csv":    CSVRows(&failingReader{data: "a,b\n" + strings.Repeat("1,2\n", 30_000) + "3,", err: cut}),
		"ndjson": NDJSONRows(&failingReader{data: strings.Repeat("{\"a\":\"1\"}\n", 10_000) + "{\"a\":", err: cut}),
	} {
		var err error
		rows := 0
		for ; err == nil; rows++ {
			_, _, err = r.Next()
		}
		if rows < 10_000 || !errors.Is(err, cut) || hutong.ErrorCode(err) == hutong.EINVALID {
			t.Errorf("%s: after %d rows got %v, want the read error, not invalid", name, rows, err)
		}
		if _, _, err := r.Next(); !errors.Is(err, io.EOF) {
			t.Errorf("%s: after the read error got %v, want EOF", name, err)
		}
	}
	r := CSVRows(strings.NewReader("a,b\n1,\"" + strings.Repeat("x", 2*MaxLine) + "\"\n2,3\n"))
	if _, _, err := r.Next(); hutong.ErrorCode(err) != hutong.EINVALID || !strings.Contains(hutong.ErrorMessage(err), "longer than") {
		t.Errorf("overlong record: got %v, want invalid", err)
	}
	if _, _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("after an overlong record got %v, want EOF", err)
	}
	wide := strings.Repeat("c,", MaxColumns) + "c\n"
	if _, _, err := CSVRows(strings.NewReader(wide)).Next(); hutong.ErrorCode(err) != hutong.EINVALID {
		t.Errorf("a header of %d columns: got %v, want invalid", MaxColumns+1, err)
	}
}

func TestWriteXLSX(t *testing.T) {
	rows := [][]string{{"指标", "数值"}, {"服务行数", "160"}, {"得分", "70.5"}}
	var b bytes.Buffer
	if err := WriteXLSX(&b, "贡献", rows); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := f.GetRows("贡献")
	if err != nil || fmt.Sprint(got) != fmt.Sprint(rows) {
		t.Errorf("read back %v, %v; want %v", got, err, rows)
	}
}

func TestTable(t *testing.T) {
	rows := [][]string{{"指标", "数值"}, {"得分", "70"}}
	b, ctype, err := Table("csv", "x", rows)
	if err != nil || ctype != "text/csv; charset=utf-8" || string(b) != "\uFEFF指标,数值\n得分,70\n" {
		t.Errorf("csv: %q %q %v", b, ctype, err)
	}
	if b, ctype, err := Table("xlsx", "贡献", rows); err != nil || ctype != XLSXType || !bytes.HasPrefix(b, []byte("PK")) {
		t.Errorf("xlsx: %q %v", ctype, err)
	}
	if _, _, err := Table("pdf", "x", rows); err == nil {
		t.Error("a pdf table was made")
	}
}
