package sheet

import (
	"archive/zip"
	"bufio"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/hutong/hutong"
)

// Limits of a catalog sheet. A province's catalog has hundreds to a few
// thousand resources; the limits leave room for many times that and keep
// the memory of one import under a known bound, whatever the file holds.
const (
	// MaxCatalogRows bounds the non-blank rows of a catalog sheet and of
	// its items sheet, headers included.
	MaxCatalogRows = 20_000
	// MaxCatalogColumns bounds the columns of a catalog sheet; a cell with
	// a value further right is an error.
	MaxCatalogColumns = 64
	// MaxWorkbookUnpacked bounds what an XLSX workbook unpacks to: the
	// uncompressed sizes of all its parts together.
	MaxWorkbookUnpacked = 64 << 20
	// MaxWorkbookText bounds the text that reading every cell of a
	// workbook's worksheets gives, counted before any cell is read: a
	// shared string counts each time a cell refers to it, and each cell
	// (also the empty ones a value further right implies) counts as 16
	// bytes more.
	MaxWorkbookText = 32 << 20
)

const (
	// maxWorkbookPart bounds each part that excelize parses whole in
	// memory: every part but the worksheets and the shared strings, which
	// are streamed (from temporary files past workbookXMLInMemory).
	maxWorkbookPart = 4 << 20
	// workbookXMLInMemory is excelize's UnzipXMLSizeLimit: larger
	// worksheets and shared-string tables are unpacked to temporary files
	// and read from there as streams.
	workbookXMLInMemory = 2 << 20
	// maxWorkbookParts bounds the entries of the ZIP directory.
	maxWorkbookParts = 10_000
	// maxSharedStrings bounds the shared-string table (excelize keeps an
	// index entry per string).
	maxSharedStrings = 1 << 20
	// cellOverhead is what a cell costs beside its text: the string header
	// of the value excelize returns for it.
	cellOverhead = 16
)

// tooBig is the error of a workbook past a limit.
func tooBig(format string, args ...any) error {
	return hutong.Errorf(hutong.EINVALID, "the workbook is refused, nothing imported: "+format, args...)
}

// checkWorkbook reads the ZIP directory of an XLSX workbook and counts what
// reading it would unpack, before excelize opens it: the uncompressed size of
// every part (archive/zip refuses a part that inflates to more than its
// directory entry declares, so the declared sizes bound what is read), and
// the text of every cell, shared strings counted per reference. A workbook
// past a limit is EINVALID with a message that names the limit.
func checkWorkbook(r io.ReaderAt, size int64) error {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return &hutong.Error{Code: hutong.EINVALID, Message: "the body is not a readable XLSX workbook (an .xlsx file saved by Excel or WPS; not .xls, not encrypted)", Err: err}
	}
	if len(zr.File) > maxWorkbookParts {
		return tooBig("it has %d parts, at most %d are read", len(zr.File), maxWorkbookParts)
	}
	var total uint64
	var sst *zip.File
	var sheets []*zip.File
	for _, f := range zr.File {
		n := f.UncompressedSize64
		total += n
		if n > MaxWorkbookUnpacked || total > MaxWorkbookUnpacked {
			return tooBig("it unpacks to more than %s (part %s alone to %s)", formatSize(MaxWorkbookUnpacked), f.Name, formatSize(int64(min(n, 1<<62))))
		}
		name := strings.ToLower(strings.ReplaceAll(f.Name, "\\", "/"))
		switch {
		case name == "xl/sharedstrings.xml":
			sst = f
		case strings.HasPrefix(name, "xl/worksheets/sheet"):
			sheets = append(sheets, f)
		case strings.HasPrefix(name, "xl/media/"):
			// Pictures are kept as bytes, not parsed; the total bounds them.
		case n > maxWorkbookPart:
			return tooBig("part %s unpacks to %s, at most %s are read", f.Name, formatSize(int64(n)), formatSize(maxWorkbookPart))
		}
	}
	var lens []int32
	if sst != nil {
		if lens, err = sharedStringLengths(sst); err != nil {
			return err
		}
	}
	var text int64
	for _, f := range sheets {
		if err := countCells(f, lens, &text); err != nil {
			return err
		}
	}
	return nil
}

// sharedStringLengths returns the text length of each shared string: the
// bytes of all character data inside its <si> element, an upper bound of
// what excelize returns for it.
func sharedStringLengths(f *zip.File) ([]int32, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, &hutong.Error{Code: hutong.EINVALID, Message: "the workbook's shared strings cannot be read", Err: err}
	}
	defer rc.Close()
	dec := xml.NewDecoder(bufio.NewReaderSize(rc, 64<<10))
	var lens []int32
	depth := 0 // inside an <si> when > 0
	var cur int64
	for {
		tok, err := dec.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, badPart(f, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local == "si" {
				if depth == 0 {
					cur = 0
				}
				depth++
			} else if depth > 0 {
				depth++
			}
		case xml.EndElement:
			if depth > 0 {
				depth--
				if depth == 0 {
					if len(lens) == maxSharedStrings {
						return nil, tooBig("it has more than %d shared strings", maxSharedStrings)
					}
					lens = append(lens, int32(min(cur, MaxWorkbookText+1)))
				}
			}
		case xml.CharData:
			if depth > 0 {
				cur += int64(len(t))
			}
		}
	}
	return lens, nil
}

// countCells adds to *text what reading the cells of worksheet f gives
// (see MaxWorkbookText) and fails past the limit.
func countCells(f *zip.File, sst []int32, text *int64) error {
	rc, err := f.Open()
	if err != nil {
		return &hutong.Error{Code: hutong.EINVALID, Message: fmt.Sprintf("worksheet %s cannot be read", f.Name), Err: err}
	}
	defer rc.Close()
	dec := xml.NewDecoder(bufio.NewReaderSize(rc, 64<<10))
	var (
		inCell, inValue bool
		shared          bool
		col, width      int   // column of the current cell; cells the current row's values span
		own             int64 // text of the current cell
		value           []byte
	)
	add := func(n int64) error {
		*text += n
		if *text > MaxWorkbookText {
			return tooBig("its cells hold more than %s of text (shared strings counted each time a cell uses them)", formatSize(MaxWorkbookText))
		}
		return nil
	}
	for {
		tok, err := dec.RawToken()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return badPart(f, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "row":
				col, width = 0, 0
			case "c":
				inCell, shared, own, value = true, false, 0, value[:0]
				col++
				for _, a := range t.Attr {
					switch a.Name.Local {
					case "r":
						if c := columnOf(a.Value); c > 0 {
							col = c
						}
					case "t":
						shared = a.Value == "s"
					}
				}
			case "v":
				inValue = inCell
			}
		case xml.CharData:
			if inCell {
				own += int64(len(t))
				if inValue && shared && len(value) < 16 {
					value = append(value, t...)
				}
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "v":
				inValue = false
			case "c":
				inCell = false
				n := own
				if shared {
					n = 0
					if i, err := strconv.Atoi(strings.TrimSpace(string(value))); err == nil && i >= 0 && i < len(sst) {
						n = int64(sst[i])
					} else if err != nil && len(sst) > 0 {
						n = int64(sst[0]) // excelize reads a malformed index as 0
					}
				}
				// Every cell counts, and the empty cells before it when it
				// lies right of all earlier ones: excelize fills them in.
				cells := int64(1)
				if col > width {
					cells = int64(col - width)
					width = col
				}
				if err := add(n + cells*cellOverhead); err != nil {
					return err
				}
			}
		}
	}
}

// columnOf returns the column number of a cell reference such as "AB12",
// or 0.
func columnOf(ref string) int {
	c := 0
	for i := 0; i < len(ref); i++ {
		ch := ref[i] | 0x20 // lower case
		if ch < 'a' || ch > 'z' {
			break
		}
		c = c*26 + int(ch-'a'+1)
		if c > 1<<14 {
			return 1 << 14 // XFD, the last column
		}
	}
	return c
}

func badPart(f *zip.File, err error) error {
	if errors.Is(err, zip.ErrFormat) || errors.Is(err, zip.ErrChecksum) {
		return &hutong.Error{Code: hutong.EINVALID, Message: fmt.Sprintf("part %s of the workbook is damaged (it does not unpack to the size its directory declares)", f.Name), Err: err}
	}
	return &hutong.Error{Code: hutong.EINVALID, Message: fmt.Sprintf("part %s of the workbook is not well-formed XML", f.Name), Err: err}
}

// formatSize writes n bytes as MiB or KiB for messages.
func formatSize(n int64) string {
	switch {
	case n >= 1<<20:
		if n%(1<<20) == 0 {
			return strconv.FormatInt(n>>20, 10) + " MiB"
		}
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	case n >= 1<<10:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
