package sheet

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"

	"github.com/xuri/excelize/v2"
)

// WriteXLSX writes rows (the first one a header, set in bold) as a
// workbook of one sheet named name. Cells are text, as a statement's
// reader copies them; numbers stay exact.
func WriteXLSX(w io.Writer, name string, rows [][]string) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", name); err != nil {
		return fmt.Errorf("sheet name %q: %w", name, err)
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	for i, row := range rows {
		cells := make([]any, len(row))
		for j, v := range row {
			cells[j] = v
		}
		cell, err := excelize.CoordinatesToCellName(1, i+1)
		if err != nil {
			return err
		}
		if err := f.SetSheetRow(name, cell, &cells); err != nil {
			return err
		}
		if i == 0 && len(row) > 0 {
			end, _ := excelize.CoordinatesToCellName(len(row), 1)
			if err := f.SetCellStyle(name, cell, end, bold); err != nil {
				return err
			}
		}
	}
	_, err = f.WriteTo(w)
	return err
}

// XLSXType is the media type of a workbook.
const XLSXType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// Table renders rows (the first a header) as a download: CSV with a
// byte-order mark (so that Excel reads Chinese as UTF-8) or an XLSX
// workbook of one sheet named name. It returns the bytes and their media
// type; format is "csv" or "xlsx".
func Table(format, name string, rows [][]string) ([]byte, string, error) {
	var b bytes.Buffer
	switch format {
	case "csv":
		b.WriteString("\uFEFF")
		cw := csv.NewWriter(&b)
		if err := cw.WriteAll(rows); err != nil {
			return nil, "", err
		}
		return b.Bytes(), "text/csv; charset=utf-8", nil
	case "xlsx":
		if err := WriteXLSX(&b, name, rows); err != nil {
			return nil, "", err
		}
		return b.Bytes(), XLSXType, nil
	}
	return nil, "", fmt.Errorf("table format %q: csv or xlsx", format)
}
