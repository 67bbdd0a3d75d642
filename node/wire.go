package node

import (
	"bufio"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	"github.com/hutong/hutong"
)

// SignatureHeader carries the hub's Ed25519 signature of a query's body,
// base64.
const SignatureHeader = "Hutong-Signature"

// MaxClockSkew is how far a query's issue time may be from the node's
// clock; a query outside it is refused as stale (or replayed).
const MaxClockSkew = time.Minute

// SignQuery encodes q and signs the encoding with key.
func SignQuery(key ed25519.PrivateKey, q *hutong.NodeQuery) (body []byte, sig string, err error) {
	body, err = json.Marshal(q)
	if err != nil {
		return nil, "", err
	}
	return body, base64.StdEncoding.EncodeToString(ed25519.Sign(key, body)), nil
}

// VerifyQuery checks that body is signed by pub and decodes it.
func VerifyQuery(pub ed25519.PublicKey, body []byte, sig string) (*hutong.NodeQuery, error) {
	if sig == "" {
		return nil, errors.New("the query is not signed")
	}
	s, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || !ed25519.Verify(pub, body, s) {
		return nil, errors.New("the query's signature does not verify: it was not signed by the hub, or was changed")
	}
	var q hutong.NodeQuery
	if err := json.Unmarshal(body, &q); err != nil {
		return nil, fmt.Errorf("the query cannot be decoded: %v", err)
	}
	return &q, nil
}

// The row stream a node answers a query with is binary: JSON costs more to
// decode than the rows cost to read. Each frame starts with a tag: a row
// is its key (varint) and one value per field; the end frame carries the
// row count and, when the read failed part way, the error.
const (
	frameRow = 'R'
	frameEnd = 'E'

	valNil    = 0
	valString = 1
	valInt    = 2
	valFloat  = 3
	valFalse  = 4
	valTrue   = 5
)

// RowWriter writes a row stream.
type RowWriter struct {
	w   *bufio.Writer
	buf []byte
	n   int64
}

// Buffers are pooled: a lookup sends one row, an export millions, and
// neither should cost a fresh 64 KiB buffer.
var (
	writers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}
	readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 64<<10) }}
)

// NewRowWriter returns a RowWriter on w. End releases its buffer.
func NewRowWriter(w io.Writer) *RowWriter {
	bw := writers.Get().(*bufio.Writer)
	bw.Reset(w)
	return &RowWriter{w: bw, buf: make([]byte, 0, 512)}
}

// Write writes one row.
func (rw *RowWriter) Write(key int64, vals []any) error {
	b := append(rw.buf[:0], frameRow)
	b = binary.AppendVarint(b, key)
	for _, v := range vals {
		switch v := v.(type) {
		case nil:
			b = append(b, valNil)
		case string:
			b = append(b, valString)
			b = binary.AppendUvarint(b, uint64(len(v)))
			b = append(b, v...)
		case int64:
			b = append(b, valInt)
			b = binary.AppendVarint(b, v)
		case float64:
			b = append(b, valFloat)
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		case bool:
			if v {
				b = append(b, valTrue)
			} else {
				b = append(b, valFalse)
			}
		default:
			return fmt.Errorf("node: value of type %T cannot be sent", v)
		}
	}
	rw.buf = b
	rw.n++
	_, err := rw.w.Write(b)
	return err
}

// End writes the end frame, with the error that cut the read short (or
// nil), and flushes.
func (rw *RowWriter) End(readErr error) error {
	b := append(rw.buf[:0], frameEnd)
	b = binary.AppendUvarint(b, uint64(rw.n))
	var code, msg string
	if readErr != nil {
		code, msg = hutong.ErrorCode(readErr), hutong.ErrorMessage(readErr)
	}
	b = binary.AppendUvarint(b, uint64(len(code)))
	b = append(b, code...)
	b = binary.AppendUvarint(b, uint64(len(msg)))
	b = append(b, msg...)
	_, err := rw.w.Write(b)
	if err == nil {
		err = rw.w.Flush()
	}
	rw.w.Reset(nil)
	writers.Put(rw.w)
	rw.w = nil
	return err
}

// Flush sends what is buffered.
func (rw *RowWriter) Flush() error { return rw.w.Flush() }

// errTruncated is a stream that ended without its end frame: the node
// died or the connection broke part way.
var errTruncated = errors.New("the row stream ended before its end frame")

// ReadRows reads a row stream of rows with nfields values each and calls
// yield for each row, reusing the values slice. It returns the error the
// end frame carries, yield's error, or a stream error.
func ReadRows(r io.Reader, nfields int, yield func(hutong.SourceRow) error) (int64, error) {
	br := readers.Get().(*bufio.Reader)
	br.Reset(r)
	defer func() {
		br.Reset(nil)
		readers.Put(br)
	}()
	vals := make([]any, nfields)
	var n int64
	var strBuf []byte
	for {
		tag, err := br.ReadByte()
		if err == io.EOF {
			return n, errTruncated
		}
		if err != nil {
			return n, err
		}
		switch tag {
		case frameRow:
			key, err := binary.ReadVarint(br)
			if err != nil {
				return n, truncated(err)
			}
			for i := range vals {
				t, err := br.ReadByte()
				if err != nil {
					return n, truncated(err)
				}
				switch t {
				case valNil:
					vals[i] = nil
				case valString:
					l, err := binary.ReadUvarint(br)
					if err != nil {
						return n, truncated(err)
					}
					if l > 64<<20 {
						return n, fmt.Errorf("a value of %d bytes in the row stream", l)
					}
					if uint64(cap(strBuf)) < l {
						strBuf = make([]byte, l)
					}
					strBuf = strBuf[:l]
					if _, err := io.ReadFull(br, strBuf); err != nil {
						return n, truncated(err)
					}
					vals[i] = string(strBuf)
				case valInt:
					v, err := binary.ReadVarint(br)
					if err != nil {
						return n, truncated(err)
					}
					vals[i] = v
				case valFloat:
					var b [8]byte
					if _, err := io.ReadFull(br, b[:]); err != nil {
						return n, truncated(err)
					}
					vals[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[:]))
				case valFalse:
					vals[i] = false
				case valTrue:
					vals[i] = true
				default:
					return n, fmt.Errorf("unknown value tag %d in the row stream", t)
				}
			}
			n++
			if err := yield(hutong.SourceRow{Key: key, Values: vals}); err != nil {
				return n, err
			}
		case frameEnd:
			rows, err := binary.ReadUvarint(br)
			if err != nil {
				return n, truncated(err)
			}
			code, err := readString(br)
			if err != nil {
				return n, truncated(err)
			}
			msg, err := readString(br)
			if err != nil {
				return n, truncated(err)
			}
			if code != "" {
				return n, &hutong.Error{Code: code, Message: msg}
			}
			if int64(rows) != n {
				return n, fmt.Errorf("the node sent %d rows but counted %d", n, rows)
			}
			return n, nil
		default:
			return n, fmt.Errorf("unknown frame tag %d in the row stream", tag)
		}
	}
}

func truncated(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return errTruncated
	}
	return err
}

func readString(br *bufio.Reader) (string, error) {
	l, err := binary.ReadUvarint(br)
	if err != nil {
		return "", err
	}
	if l > 1<<20 {
		return "", fmt.Errorf("a string of %d bytes in the end frame", l)
	}
	b := make([]byte, l)
	if _, err := io.ReadFull(br, b); err != nil {
		return "", err
	}
	return string(b), nil
}
