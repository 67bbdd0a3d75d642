package search

import (
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"strings"
	"unicode/utf8"

	"github.com/hutong/hutong"
)

// A cursor is the position of the last document of a page in the order of
// a search: its score and its code. On the wire it is base64url, without
// padding, of a version byte, the score, the code and a CRC-32 of those, so
// that a cursor the index did not produce (truncated, edited, from another
// endpoint) is rejected rather than silently read as another position.
type cursor struct {
	score int // 0 without a query, else 1 or 2
	code  string
}

const (
	cursorVersion = 1
	// maxCursorLen bounds the work a hostile cursor can cause.
	maxCursorLen = 1024
)

func encodeCursor(c cursor) string {
	b := make([]byte, 0, 2+len(c.code)+4)
	b = append(b, cursorVersion, byte(c.score))
	b = append(b, c.code...)
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor parses a cursor made by encodeCursor. It returns EINVALID for
// anything else.
func decodeCursor(s string) (cursor, error) {
	bad := func(why string) (cursor, error) {
		return cursor{}, hutong.Errorf(hutong.EINVALID, "malformed cursor: %s; pass the next_cursor of the previous page unchanged", why)
	}
	if len(s) > maxCursorLen {
		return bad("too long")
	}
	// The decoder skips CR and LF; a cursor has neither.
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || strings.ContainsAny(s, "\r\n") {
		return bad("not base64url")
	}
	if len(b) < 2+1+4 {
		return bad("too short")
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return bad("checksum mismatch")
	}
	if body[0] != cursorVersion {
		return bad("unknown version")
	}
	score, code := int(body[1]), body[2:]
	if score > 2 || !utf8.Valid(code) {
		return bad("bad position")
	}
	return cursor{score: score, code: string(code)}, nil
}
