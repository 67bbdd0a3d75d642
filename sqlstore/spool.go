package sqlstore

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
)

// spool keeps the validated rows of an import in a temporary file between
// reading the body and the write transaction, so neither a slow client nor
// a large body is held in memory or under the database's write lock. The
// file is removed as soon as it is created (on Unix) and in any case on
// close.
//
// A row is its values in item order, each a tag byte and its encoding:
// the canonical values standard.Parse returns (string, int64, float64, bool)
// or nil.
type spool struct {
	f  *os.File
	w  *bufio.Writer
	r  *bufio.Reader
	sc []byte // scratch for reading strings
}

const (
	spoolNil byte = iota
	spoolString
	spoolInt
	spoolFloat
	spoolTrue
	spoolFalse
)

func newSpool() (*spool, error) {
	f, err := os.CreateTemp("", "hutong-rows-*")
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	os.Remove(f.Name()) // gone from the directory; the open file remains
	return &spool{f: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
}

// write appends one row.
func (s *spool) write(vals []any) error {
	var buf [binary.MaxVarintLen64]byte
	for _, v := range vals {
		switch x := v.(type) {
		case nil:
			s.w.WriteByte(spoolNil)
		case string:
			s.w.WriteByte(spoolString)
			s.w.Write(buf[:binary.PutUvarint(buf[:], uint64(len(x)))])
			s.w.WriteString(x)
		case int64:
			s.w.WriteByte(spoolInt)
			s.w.Write(buf[:binary.PutVarint(buf[:], x)])
		case float64:
			s.w.WriteByte(spoolFloat)
			binary.LittleEndian.PutUint64(buf[:8], math.Float64bits(x))
			s.w.Write(buf[:8])
		case bool:
			if x {
				s.w.WriteByte(spoolTrue)
			} else {
				s.w.WriteByte(spoolFalse)
			}
		default:
			return fmt.Errorf("spool: cannot keep a value of type %T", v)
		}
	}
	return nil
}

// rewind ends writing and starts reading from the first row.
func (s *spool) rewind() error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	s.r = bufio.NewReaderSize(s.f, 64<<10)
	return nil
}

// read fills vals with the next row.
func (s *spool) read(vals []any) error {
	for i := range vals {
		tag, err := s.r.ReadByte()
		if err != nil {
			return err
		}
		switch tag {
		case spoolNil:
			vals[i] = nil
		case spoolString:
			n, err := binary.ReadUvarint(s.r)
			if err != nil {
				return err
			}
			if uint64(cap(s.sc)) < n {
				s.sc = make([]byte, n)
			}
			b := s.sc[:n]
			if _, err := io.ReadFull(s.r, b); err != nil {
				return err
			}
			vals[i] = string(b)
		case spoolInt:
			n, err := binary.ReadVarint(s.r)
			if err != nil {
				return err
			}
			vals[i] = n
		case spoolFloat:
			var b [8]byte
			if _, err := io.ReadFull(s.r, b[:]); err != nil {
				return err
			}
			vals[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[:]))
		case spoolTrue, spoolFalse:
			vals[i] = tag == spoolTrue
		default:
			return fmt.Errorf("spool: unknown tag %d", tag)
		}
	}
	return nil
}

// close removes the file.
func (s *spool) close() {
	s.f.Close()
	os.Remove(s.f.Name())
}
