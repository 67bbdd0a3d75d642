package search

import (
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/hutong/hutong"
)

// encodeRaw builds a cursor with a valid checksum around any content, to
// test what decodeCursor checks beyond the checksum.
func encodeRaw(version, score byte, code string) string {
	b := append([]byte{version, score}, code...)
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestCursorRoundTrip(t *testing.T) {
	for _, c := range []cursor{{0, "A"}, {1, "TJYB-00001"}, {2, "天津/资源-1"}, {0, "x\x00y"}} {
		t.Run(c.code, func(t *testing.T) {
			got, err := decodeCursor(encodeCursor(c))
			if err != nil || got != c {
				t.Errorf("got %+v, %v, want %+v", got, err, c)
			}
		})
	}
}

// FuzzCursor checks that any string either decodes to a cursor that
// encodes back to the same string, or is rejected as EINVALID, and that a
// search with it never panics.
func FuzzCursor(f *testing.F) {
	f.Add("")
	f.Add(encodeCursor(cursor{1, "TJYB-00001"}))
	f.Add(encodeCursor(cursor{0, "A"}))
	f.Add("AQFCREFYR0EtMDAyNjAwL_4X")
	f.Add("!!!")
	ix := New()
	ix.PutAll(GenerateDocs(50, 1))
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeCursor(s)
		if err != nil {
			if code := hutong.ErrorCode(err); code != hutong.EINVALID {
				t.Fatalf("decodeCursor(%q): got code %q, want %q", s, code, hutong.EINVALID)
			}
		} else if again := encodeCursor(c); again != s {
			t.Fatalf("decodeCursor(%q) = %+v, which encodes as %q", s, c, again)
		}
		for _, text := range []string{"", "信息"} {
			res, err := ix.Search(Query{Text: text, Limit: 5, Cursor: s})
			if err != nil && hutong.ErrorCode(err) != hutong.EINVALID {
				t.Fatalf("Search with cursor %q: got %v, want nil or EINVALID", s, err)
			}
			if len(res.Codes) > 5 {
				t.Fatalf("Search with cursor %q: got %d codes, want at most 5", s, len(res.Codes))
			}
		}
	})
}
