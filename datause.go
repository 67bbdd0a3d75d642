package hutong

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"time"
)

// My data, who used it (数据使用记录): for each governed release the
// exchange notes a keyed hash of each subject identifier (公民身份号码,
// 统一社会信用代码) among the rows it returned, beside the audit entry's
// index, never in the entry itself nor in the public log. A person looks
// their uses up by their own identifier only: the hub hashes it with the
// same key and lists the entries noted under it.

// SubjectElements are the data elements that identify the subject of a
// row.
var SubjectElements = []string{string(IDPerson), string(IDEnterprise)}

// SubjectHashBytes is the size of a subject hash.
const SubjectHashBytes = 16

// SubjectHash returns the keyed hash of a subject identifier (canonical
// text, as the element's parser gives it): HMAC-SHA-256 under key,
// truncated to SubjectHashBytes.
func SubjectHash(key []byte, id string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("hutong/subject/v1\x00"))
	m.Write([]byte(id))
	return m.Sum(nil)[:SubjectHashBytes]
}

// DataUse is one governed read that returned rows about a subject, as the
// audit entry recorded it.
type DataUse struct {
	Index      uint64    `json:"index"` // the audit entry: its receipt and proof
	Time       time.Time `json:"time"`
	Kind       string    `json:"kind"` // exchange.read or exchange.export
	Department string    `json:"department"`
	Resource   string    `json:"resource"`
	Provider   string    `json:"provider,omitempty"`
	Fields     []string  `json:"fields"`
	Purpose    string    `json:"purpose"`
	Agreement  string    `json:"agreement"`
	Rows       int64     `json:"rows"`
}

// SubjectLog keeps which audit entries released rows about which
// subjects, by keyed hash.
type SubjectLog interface {
	// NoteSubjects records that the audit entry index released rows about
	// each subject hashed in subjects. Noting an entry twice adds nothing.
	NoteSubjects(ctx context.Context, index uint64, subjects [][]byte) error

	// DataUses returns the governed reads noted under subject, newest
	// first, at most limit.
	DataUses(ctx context.Context, subject []byte, limit int) ([]DataUse, error)
}
