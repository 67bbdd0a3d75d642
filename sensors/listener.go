package sensors

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/hj212"
)

// Listener defaults.
const (
	// DefaultIdle is how long a station's connection may stay silent.
	DefaultIdle = 10 * time.Minute
	// DefaultBatch is the most readings one group commit carries.
	DefaultBatch = 20_000
	// authTTL is how long a verified MN and password are believed.
	authTTL = 30 * time.Second
)

// Listener accepts HJ 212 connections from stations. For each packet it
// checks the frame and CRC, authenticates MN and PW (ReadingStore), turns
// the data commands (2011, 2051, 2061, 2031) into readings, has them
// stored and, once the store has committed them, answers 9014 when the
// packet asks for an acknowledgement. A packet it cannot take is answered
// 9011 with the standard's QnRtn code (9 bad CRC, 4 unknown MN, 3 wrong
// PW …) and, for a bad CRC, an unknown MN or a wrong password, counted in
// Tally as a refusal of a caller who proved no identity.
//
// Set the fields, then call Serve; Close stops it. Safe for concurrent use.
type Listener struct {
	Store hutong.ReadingStore
	// Tally records refusals; none are recorded when nil.
	Tally *hutong.RefusalTally
	// Stored, when set, is called with every batch of readings after it
	// is durable (the live air picture listens here).
	Stored func([]hutong.Reading)
	// Logger receives errors of the store; slog.Default() when nil.
	Logger *slog.Logger
	// Idle is a connection's read timeout; DefaultIdle when 0.
	Idle time.Duration
	// Batch bounds a group commit; DefaultBatch when 0.
	Batch int
	// Now returns the time; time.Now when nil.
	Now func() time.Time

	once    sync.Once
	pending chan *submission
	stored  chan []hutong.Reading // batches for Stored
	done    chan struct{}
	closing atomic.Bool
	wg      sync.WaitGroup

	mu    sync.Mutex
	lns   []net.Listener
	conns map[net.Conn]struct{}
	auth  map[string]verified

	readings, packets, refused atomic.Int64
}

type verified struct {
	sum     [32]byte
	station *hutong.Station
	until   time.Time
}

// submission is one packet's readings waiting for a group commit.
type submission struct {
	rs   []hutong.Reading
	done chan error
}

func (l *Listener) init() {
	l.once.Do(func() {
		l.pending = make(chan *submission, 4096)
		l.done = make(chan struct{})
		l.conns = map[net.Conn]struct{}{}
		l.auth = map[string]verified{}
		if l.Logger == nil {
			l.Logger = slog.Default()
		}
		if l.Idle == 0 {
			l.Idle = DefaultIdle
		}
		if l.Batch == 0 {
			l.Batch = DefaultBatch
		}
		if l.Now == nil {
			l.Now = time.Now
		}
		l.stored = make(chan []hutong.Reading, 4)
		go l.commit()
		if l.Stored != nil {
			go l.announce()
		}
	})
}

// Counts returns the readings stored, the packets taken and the packets
// refused since the listener started.
func (l *Listener) Counts() (readings, packets, refused int64) {
	return l.readings.Load(), l.packets.Load(), l.refused.Load()
}

// Serve accepts connections on ln until Close; it returns nil after
// Close, or the accept error.
func (l *Listener) Serve(ln net.Listener) error {
	l.init()
	l.mu.Lock()
	if l.closing.Load() {
		l.mu.Unlock()
		ln.Close()
		return nil
	}
	l.lns = append(l.lns, ln)
	l.mu.Unlock()
	for {
		c, err := ln.Accept()
		if err != nil {
			if l.closing.Load() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		l.mu.Lock()
		if l.closing.Load() {
			l.mu.Unlock()
			c.Close()
			return nil
		}
		l.conns[c] = struct{}{}
		l.wg.Add(1)
		l.mu.Unlock()
		go l.serveConn(c)
	}
}

// Close stops accepting, closes the connections, waits for their
// packets in flight to be stored and answered, and stops the committer.
func (l *Listener) Close() error {
	l.init()
	l.mu.Lock()
	if l.closing.Swap(true) {
		l.mu.Unlock()
		return nil
	}
	for _, ln := range l.lns {
		ln.Close()
	}
	for c := range l.conns {
		// Wake readers; a packet being stored is still answered.
		c.SetReadDeadline(time.Unix(1, 0))
	}
	l.mu.Unlock()
	l.wg.Wait()
	close(l.done)
	return nil
}

func (l *Listener) serveConn(c net.Conn) {
	defer func() {
		c.Close()
		l.mu.Lock()
		delete(l.conns, c)
		l.mu.Unlock()
		l.wg.Done()
	}()
	r := bufio.NewReaderSize(c, 16<<10)
	w := bufio.NewWriter(c)
	var session connAuth
	for !l.closing.Load() {
		c.SetReadDeadline(time.Now().Add(l.Idle))
		frame, err := readFrame(r)
		if err != nil {
			var e *hj212.Error
			if errors.As(err, &e) {
				// A frame that cannot be delimited: answer and hang up,
				// since where the next packet starts is unknown.
				l.refuse(c, nil, e.QnRtn, e.Reason)
				writeAnswer(w, hj212.Refusal(nil, e.QnRtn))
			}
			return
		}
		answer := l.handle(c, frame, &session)
		if answer != nil {
			if writeAnswer(w, answer) != nil {
				return
			}
		}
	}
}

func writeAnswer(w *bufio.Writer, p *hj212.Packet) error {
	b, err := p.Encode()
	if err != nil {
		return err
	}
	w.Write(b)
	return w.Flush()
}

// readFrame reads one packet: it skips bytes before "##" (line noise),
// reads the four length digits and then the data segment, CRC and CR LF.
func readFrame(r *bufio.Reader) ([]byte, error) {
	for {
		b, err := r.ReadByte()
		if err != nil {
			return nil, err
		}
		if b != '#' {
			continue
		}
		if next, err := r.Peek(1); err != nil {
			return nil, err
		} else if next[0] == '#' {
			r.ReadByte()
			break
		}
	}
	head := make([]byte, 4)
	if _, err := io.ReadFull(r, head); err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(string(head))
	if err != nil || n < 0 || head[0] == '+' || head[0] == '-' {
		return nil, &hj212.Error{QnRtn: hj212.QnRtnUnknown, Reason: fmt.Sprintf("length %q is not four decimal digits", head)}
	}
	frame := make([]byte, 6+n+6)
	frame[0], frame[1] = '#', '#'
	copy(frame[2:], head)
	if _, err := io.ReadFull(r, frame[6:]); err != nil {
		return nil, err
	}
	return frame, nil
}

// connAuth is what a connection last authenticated: a station sends
// its packets over one connection, and they are believed without a new
// check until authTTL has passed.
type connAuth struct {
	mn, pw string
	until  time.Time
}

// handle takes one packet and returns the answer to send, if any.
func (l *Listener) handle(c net.Conn, frame []byte, session *connAuth) *hj212.Packet {
	p, err := hj212.Decode(frame)
	if err != nil {
		var e *hj212.Error
		errors.As(err, &e)
		if e.QnRtn == hj212.QnRtnCRC {
			l.refuse(c, nil, e.QnRtn, e.Reason)
		} else {
			l.refused.Add(1)
		}
		return hj212.Refusal(nil, e.QnRtn)
	}
	if now := l.Now(); p.MN != session.mn || p.PW != session.pw || !now.Before(session.until) {
		if rtn, reason := l.authenticate(p); rtn != 0 {
			if rtn != hj212.QnRtnUnknown {
				l.refuse(c, p, rtn, reason)
			} else {
				l.refused.Add(1)
			}
			return hj212.Refusal(p, rtn)
		}
		*session = connAuth{mn: p.MN, pw: p.PW, until: now.Add(authTTL)}
	}
	field := hj212.FieldOf(p.CN)
	if field == "" {
		if p.CN == hj212.CNDataAck || p.CN == hj212.CNRequest || p.CN == hj212.CNResult {
			return nil // a station's answer to the hub: nothing to say back
		}
		l.refused.Add(1)
		return hj212.Refusal(p, hj212.QnRtnCN)
	}
	rs, err := Readings(p)
	if err != nil {
		l.refused.Add(1)
		l.Logger.Debug("sensors: packet refused", "mn", p.MN, "err", err)
		return hj212.Refusal(p, hj212.QnRtnRefused)
	}
	if err := l.store(rs); err != nil {
		l.Logger.Error("sensors: storing readings", "mn", p.MN, "err", err)
		return hj212.Refusal(p, hj212.QnRtnUnknown)
	}
	l.packets.Add(1)
	if p.Flag >= 0 && p.Flag&hj212.FlagAck != 0 {
		return hj212.Ack(p)
	}
	return nil
}

// authenticate checks p's MN and PW; it returns the QnRtn code of a
// refusal and why, or 0.
func (l *Listener) authenticate(p *hj212.Packet) (int, string) {
	_, err := l.station(p.MN, p.PW)
	switch hutong.ErrorCode(err) {
	case "":
		return 0, ""
	case hutong.ENOTFOUND:
		return hj212.QnRtnMN, "unknown MN " + p.MN
	case hutong.EUNAUTHORIZED:
		return hj212.QnRtnPW, "wrong password for MN " + p.MN
	}
	return hj212.QnRtnUnknown, ""
}

// station returns the station mn when pw is its password: ENOTFOUND for
// an unknown MN, EUNAUTHORIZED for a wrong password, another error when
// the store fails (logged). An answer of the store is believed for
// authTTL.
func (l *Listener) station(mn, pw string) (*hutong.Station, error) {
	l.init()
	sum := sha256.Sum256([]byte(pw))
	now := l.Now()
	l.mu.Lock()
	v, ok := l.auth[mn]
	l.mu.Unlock()
	if ok && v.sum == sum && now.Before(v.until) {
		return v.station, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := l.Store.AuthenticateStation(ctx, mn, pw)
	if err != nil {
		if c := hutong.ErrorCode(err); c != hutong.ENOTFOUND && c != hutong.EUNAUTHORIZED {
			l.Logger.Error("sensors: authenticating a station", "mn", mn, "err", err)
		}
		return nil, err
	}
	l.mu.Lock()
	if len(l.auth) > 100_000 {
		clear(l.auth)
	}
	l.auth[mn] = verified{sum: sum, station: st, until: now.Add(authTTL)}
	l.mu.Unlock()
	return st, nil
}

// known returns the station mn as last authenticated, expired or not.
func (l *Listener) known(mn string) (*hutong.Station, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	v, ok := l.auth[mn]
	return v.station, ok
}

// refuse counts a refusal of a caller who proved no identity.
func (l *Listener) refuse(c net.Conn, p *hj212.Packet, rtn int, reason string) {
	l.refused.Add(1)
	if l.Tally == nil {
		return
	}
	ev := &hutong.AuditEvent{Kind: hutong.AuditStationRefuse, Decision: "deny", Reason: "HJ 212 QnRtn=" + strconv.Itoa(rtn) + ": " + hutong.ClipText(reason, 200)}
	l.Tally.Refuse(c.RemoteAddr().String(), ev)
}

// Readings returns the readings of a data packet (2011, 2051, 2061, 2031):
// one per pollutant the hub knows (hutong.AirElements), with its flag (N
// when none is sent). Values of other codes are left out. It returns an
// error when the CP cannot be read, has no DataTime, or a known
// pollutant's value or flag is not valid.
func Readings(p *hj212.Packet) ([]hutong.Reading, error) {
	field := hj212.FieldOf(p.CN)
	period := map[string]string{hj212.CNRealtime: hutong.PeriodRealtime, hj212.CNMinute: hutong.PeriodMinute,
		hj212.CNHourly: hutong.PeriodHour, hj212.CNDaily: hutong.PeriodDay}[p.CN]
	cp, err := hj212.ParseCP(p.CP)
	if err != nil {
		return nil, err
	}
	if cp.Time.IsZero() {
		return nil, errors.New("data packet without DataTime")
	}
	var rs []hutong.Reading
	var valued []bool
	index := map[string]int{}
	for _, v := range cp.Values {
		if _, ok := hutong.LookupAirElement(v.Code); !ok {
			continue
		}
		i, seen := index[v.Code]
		if !seen {
			i = len(rs)
			index[v.Code] = i
			rs = append(rs, hutong.Reading{Station: p.MN, Pollutant: v.Code, Period: period, Time: cp.Time.UTC(), Flag: "N"})
			valued = append(valued, false)
		}
		switch v.Field {
		case field:
			x, err := strconv.ParseFloat(v.Value, 64)
			if err != nil {
				return nil, fmt.Errorf("%s-%s %q is not a number", v.Code, v.Field, hutong.ClipText(v.Value, 32))
			}
			rs[i].Value, valued[i] = x, true
		case "Flag":
			rs[i].Flag = v.Value
		}
	}
	out := rs[:0]
	for i, r := range rs {
		if !valued[i] {
			continue // a flag or statistic without the value itself
		}
		if err := hutong.ValidateReading(&r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// store submits rs to the group commit and waits until they are durable.
func (l *Listener) store(rs []hutong.Reading) error {
	if len(rs) == 0 {
		return nil
	}
	s := &submission{rs: rs, done: make(chan error, 1)}
	closed := errors.New("sensors: the listener is closed")
	select {
	case l.pending <- s:
	case <-l.done:
		return closed
	}
	select {
	case err := <-s.done:
		return err
	case <-l.done:
		// The committer has stopped; it may have taken s first.
		select {
		case err := <-s.done:
			return err
		default:
			return closed
		}
	}
}

// commit stores the submissions waiting, as many as Batch readings in
// one transaction, and answers each: the group commit that lets one
// fsync cover many stations' packets.
func (l *Listener) commit() {
	for {
		var first *submission
		select {
		case first = <-l.pending:
		case <-l.done:
			return
		}
		group := []*submission{first}
		n := len(first.rs)
	more:
		for n < l.Batch {
			select {
			case s := <-l.pending:
				group = append(group, s)
				n += len(s.rs)
			default:
				break more
			}
		}
		rs := make([]hutong.Reading, 0, n)
		for _, s := range group {
			rs = append(rs, s.rs...)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := l.Store.AppendReadings(ctx, rs)
		cancel()
		for _, s := range group {
			s.done <- err
		}
		if err == nil {
			l.readings.Add(int64(len(rs)))
			if l.Stored != nil {
				// The live picture takes the batch while the next one
				// commits; should it fall behind, the committer waits.
				select {
				case l.stored <- rs:
				case <-l.done:
					return
				}
			}
		}
	}
}

// announce hands stored batches to Stored, in commit order.
func (l *Listener) announce() {
	for {
		select {
		case rs := <-l.stored:
			l.Stored(rs)
		case <-l.done:
			return
		}
	}
}
