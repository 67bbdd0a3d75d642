package sqlstore

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/hutong/hutong"
)

// DataUses implements hutong.SubjectLog: the index from subjects' keyed
// hashes to the audit entries that released their rows. It is derived
// from audited releases (the exchange notes each release after its entry
// is recorded), so writing it is no change of its own to audit.
type DataUses struct{ db *DB }

var _ hutong.SubjectLog = (*DataUses)(nil)

// NewDataUses returns the subject log of db.
func NewDataUses(db *DB) *DataUses { return &DataUses{db: db} }

// maxNoteBatch bounds the rows of one INSERT.
const maxNoteBatch = 500

// NoteSubjects records that entry index released rows about subjects.
func (s *DataUses) NoteSubjects(ctx context.Context, index uint64, subjects [][]byte) error {
	return s.db.tx(ctx, func(tx *sql.Tx) error {
		for len(subjects) > 0 {
			batch := subjects[:min(len(subjects), maxNoteBatch)]
			subjects = subjects[len(batch):]
			var b strings.Builder
			b.WriteString(`INSERT INTO data_uses (subject, idx) VALUES `)
			args := make([]any, 0, 2*len(batch))
			for i, h := range batch {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(`(?, ?)`)
				args = append(args, hex.EncodeToString(h), int64(index))
			}
			b.WriteString(` ON CONFLICT DO NOTHING`)
			if _, err := tx.ExecContext(ctx, s.db.q(b.String()), args...); err != nil {
				return internal(err)
			}
		}
		return nil
	})
}

// maxDataUses bounds one answer.
const maxDataUses = 500

// DataUses returns the reads noted under subject, newest first.
func (s *DataUses) DataUses(ctx context.Context, subject []byte, limit int) ([]hutong.DataUse, error) {
	if limit <= 0 || limit > maxDataUses {
		limit = maxDataUses
	}
	rows, err := s.db.ro.QueryContext(ctx, s.db.q(`SELECT idx FROM data_uses WHERE subject = ? ORDER BY idx DESC LIMIT ?`), hex.EncodeToString(subject), limit)
	if err != nil {
		return nil, internal(err)
	}
	var idxs []int64
	for rows.Next() {
		var i int64
		if err := rows.Scan(&i); err != nil {
			rows.Close()
			return nil, internal(err)
		}
		idxs = append(idxs, i)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, internal(err)
	}
	out := []hutong.DataUse{}
	for _, i := range idxs {
		var entry string
		err := s.db.auditRO.QueryRowContext(ctx, s.db.q(`SELECT entry FROM audit_log WHERE idx = ?`), i).Scan(&entry)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, internal(fmt.Errorf("data use %d: no such audit entry", i))
		}
		if err != nil {
			return nil, internal(err)
		}
		var e hutong.AuditEvent
		if err := json.Unmarshal([]byte(entry), &e); err != nil {
			return nil, internal(err)
		}
		out = append(out, hutong.DataUse{Index: uint64(i), Time: e.Time, Kind: e.Kind, Department: e.Department, Resource: e.Resource,
			Provider: e.Provider, Fields: e.Fields, Purpose: e.Purpose, Agreement: e.Agreement, Rows: e.Rows})
	}
	return out, nil
}
