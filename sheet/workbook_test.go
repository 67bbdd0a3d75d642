package sheet

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/hutong/hutong"
)

// workbook returns an XLSX workbook made by excelize with a 资源目录 sheet,
// whose parts named in replace are written instead by the given functions
// (streamed through deflate, so a part may unpack to far more than the
// workbook's size).
func workbook(t *testing.T, replace map[string]func(io.Writer)) []byte {
	t.Helper()
	f := excelize.NewFile()
	f.SetSheetName("Sheet1", "资源目录")
	f.SetSheetRow("资源目录", "A1", &[]any{"资源代码", "资源名称", "资源提供方", "资源摘要", "共享类型", "信息项", "发布日期"})
	f.SetSheetRow("资源目录", "A2", &[]any{"HB-AIR-9", "河北省空气", "P", "站点", "无条件共享", "AQI(aqi)", 46296})
	base, err := f.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(base.Bytes()), int64(base.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestCompression) })
	for _, zf := range zr.File {
		write, ok := replace[zf.Name]
		if !ok {
			if err := zw.Copy(zf); err != nil {
				t.Fatal(err)
			}
			continue
		}
		w, err := zw.Create(zf.Name)
		if err != nil {
			t.Fatal(err)
		}
		write(w)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// worksheet writes a worksheet whose rows are given by row(i) for i in
// [0, n), each repeated text written in chunks.
func worksheet(n int, row func(i int) string) func(io.Writer) {
	return func(w io.Writer) {
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`)
		var b strings.Builder
		for i := range n {
			b.WriteString(row(i))
			if b.Len() > 1<<20 {
				io.WriteString(w, b.String())
				b.Reset()
			}
		}
		io.WriteString(w, b.String())
		io.WriteString(w, `</sheetData></worksheet>`)
	}
}

const headerRow = `<row r="1"><c r="A1" t="inlineStr"><is><t>资源代码</t></is></c><c r="B1" t="inlineStr"><is><t>资源名称</t></is></c><c r="C1" t="inlineStr"><is><t>资源提供方</t></is></c><c r="D1" t="inlineStr"><is><t>共享类型</t></is></c></row>`

func TestWorkbookLimits(t *testing.T) {
	const sheet1 = "xl/worksheets/sheet1.xml"
	tests := []struct {
		name    string
		parts   map[string]func(io.Writer)
		message string // in the error
	}{
		{"unpacks past the limit", map[string]func(io.Writer){sheet1: worksheet(2_000_000, func(i int) string {
			return `<row><c><v>1</v></c><c><v>2</v></c><c><v>3</v></c><c><v>4</v></c><c><v>5</v></c></row>`
		})}, "unpacks to more than 64 MiB"},
		{"many small cells", map[string]func(io.Writer){sheet1: worksheet(600_000, func(i int) string {
			return `<row><c><v>1</v></c><c><v>2</v></c><c><v>3</v></c><c><v>4</v></c></row>`
		})}, "cells hold more than 32 MiB"},
		{"one shared string in every cell", map[string]func(io.Writer){
			"xl/sharedStrings.xml": func(w io.Writer) {
				io.WriteString(w, `<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>`+strings.Repeat("长", 10_000)+`</t></si></sst>`)
			},
			sheet1: worksheet(2000, func(i int) string {
				return fmt.Sprintf(`<row r="%d">`, i+1) + strings.Repeat(`<c t="s"><v>0</v></c>`, 20) + `</row>`
			}),
		}, "cells hold more than 32 MiB"},
		{"a value in the last column", map[string]func(io.Writer){sheet1: worksheet(200, func(i int) string {
			return fmt.Sprintf(`<row r="%d"><c r="XFD%d"><v>1</v></c></row>`, i+1, i+1)
		})}, "cells hold more than 32 MiB"},
		{"too many rows", map[string]func(io.Writer){sheet1: worksheet(MaxCatalogRows+1, func(i int) string {
			if i == 0 {
				return headerRow
			}
			return fmt.Sprintf(`<row><c><v>%d</v></c></row>`, i)
		})}, "more than 20000 rows"},
		{"a value right of the catalog's columns", map[string]func(io.Writer){sheet1: worksheet(2, func(i int) string {
			if i == 0 {
				return headerRow
			}
			return `<row r="2"><c r="A2"><v>1</v></c><c r="BZ2"><v>1</v></c></row>`
		})}, "at most 64 columns"},
	}
	slow := map[string]bool{"unpacks past the limit": true, "many small cells": true} // seconds to build
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if testing.Short() && slow[tt.name] {
				t.Skip("builds a worksheet of tens of MiB; runs without -short")
			}
			b := workbook(t, tt.parts)
			_, err := ReadCatalog("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", bytes.NewReader(b), int64(len(b)))
			msg := hutong.ErrorMessage(err)
			for _, v := range hutong.ErrorDetails(err) {
				msg += "; " + v.Message
			}
			if hutong.ErrorCode(err) != hutong.EINVALID || !strings.Contains(msg, tt.message) {
				t.Fatalf("a %d-byte workbook: got %v (%s), want invalid with %q", len(b), err, msg, tt.message)
			}
		})
	}

	// The workbook the cases start from reads, its typed date included.
	b := workbook(t, nil)
	cat, err := ReadCatalog("", bytes.NewReader(b), int64(len(b)))
	if err != nil || len(cat.Resources) != 1 || cat.Resources[0].PublishDate != "2026-10-01" || cat.Resources[0].Items[0].Element != "aqi" {
		t.Fatalf("base workbook: %+v, %v", cat, err)
	}
}

// TestWorkbookDeclaredSizeLie checks that a part which inflates to more than
// its directory entry declares is refused, not read to its end.
func TestWorkbookDeclaredSizeLie(t *testing.T) {
	var raw bytes.Buffer
	fw, _ := flate.NewWriter(&raw, flate.BestCompression)
	var plain bytes.Buffer
	plain.WriteString(`<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`)
	for plain.Len() < 8<<20 {
		plain.WriteString(`<row><c><v>1</v></c></row>`)
	}
	plain.WriteString(`</sheetData></worksheet>`)
	fw.Write(plain.Bytes())
	fw.Close()
	b := workbook(t, map[string]func(io.Writer){})
	zr, _ := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, zf := range zr.File {
		if zf.Name != "xl/worksheets/sheet1.xml" {
			zw.Copy(zf)
			continue
		}
		w, err := zw.CreateRaw(&zip.FileHeader{Name: zf.Name, Method: zip.Deflate, CRC32: crc32.ChecksumIEEE(plain.Bytes()),
			CompressedSize64: uint64(raw.Len()), UncompressedSize64: 4096})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(raw.Bytes())
	}
	zw.Close()
	_, err := ReadCatalogXLSX(bytes.NewReader(out.Bytes()), int64(out.Len()))
	if hutong.ErrorCode(err) != hutong.EINVALID || !strings.Contains(hutong.ErrorMessage(err), "damaged") {
		t.Fatalf("got %v, want invalid: damaged", err)
	}
}

func TestCatalogCSVLimits(t *testing.T) {
	head := "资源代码,资源名称,资源提供方,共享类型\n"
	tests := []struct {
		name, in, message string
	}{
		{"too many rows", head + strings.Repeat("A-1,空气,P,无条件共享\n", MaxCatalogRows), "more than 20000 rows"},
		{"an overlong record", head + "A-1,\"" + strings.Repeat("x", maxRecordBytes+8<<10) + "\",P,无条件共享\n", "longer than"},
		{"a row of commas", head + strings.Repeat(",", 100) + "x\n", "at most 64 columns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadCatalogCSV(strings.NewReader(tt.in))
			msg := hutong.ErrorMessage(err)
			for _, v := range hutong.ErrorDetails(err) {
				msg += "; " + v.Message
			}
			if hutong.ErrorCode(err) != hutong.EINVALID || !strings.Contains(msg, tt.message) {
				t.Fatalf("got %v (%s), want invalid with %q", err, msg, tt.message)
			}
		})
	}
}
