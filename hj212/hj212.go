package hj212

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// Command codes (CN) of HJ 212-2017 that hutong reads or writes.
const (
	CNRealtime = "2011" // 实时数据 (real-time values, Rtd)
	CNMinute   = "2051" // 分钟数据 (minute statistics: Avg, Min, Max)
	CNHourly   = "2061" // 小时数据
	CNDaily    = "2031" // 日数据
	CNRequest  = "9011" // 请求应答 (answer to a request, with QnRtn)
	CNResult   = "9012" // 执行结果 (result of a request, with ExeRtn)
	CNDataAck  = "9014" // 数据应答 (acknowledgement of uploaded data)
)

// STSystem is the system code (ST) of the system-interaction packets
// (acknowledgements).
const STSystem = "91"

// STAir is the system code of ambient air quality monitoring (环境空气质量监测).
const STAir = "22"

// QnRtn codes of a 9011 answer (HJ 212-2017 table 8).
const (
	QnRtnReady   = 1   // 准备执行请求
	QnRtnRefused = 2   // 请求被拒绝
	QnRtnPW      = 3   // PW 错误
	QnRtnMN      = 4   // MN 错误
	QnRtnST      = 5   // ST 错误
	QnRtnFlag    = 6   // Flag 错误
	QnRtnQN      = 7   // QN 错误
	QnRtnCN      = 8   // CN 错误
	QnRtnCRC     = 9   // CRC 校验错误
	QnRtnUnknown = 100 // 未知错误
)

// ExeRtn codes of a 9012 answer (HJ 212-2017 table 9).
const (
	ExeRtnOK     = 1   // 执行成功
	ExeRtnFailed = 2   // 执行失败，但不知道原因
	ExeRtnNoData = 100 // 没有数据
)

// Flag bits (HJ 212-2017 6.3.3): A asks for an acknowledgement, D says the
// packet is one of several (PNUM, PNO present); the bits above them carry
// the protocol version, 1 for HJ 212-2017.
const (
	FlagAck     = 1 << 0
	FlagSplit   = 1 << 1
	Version2017 = 1 << 2
)

// Limits of the frame: the data segment is 0 to 9999 bytes (HJ 212-2017
// allows at most 1024 for a packet on the wire; stations in the field send
// more, so hutong takes what the four length digits can say).
const (
	MaxData  = 9999
	overhead = 2 + 4 + 4 + 2 // ##, length, CRC, \r\n
	// MaxPacket is the longest packet, frame included.
	MaxPacket = MaxData + overhead
)

// Error is what Decode and ParseCP return for a packet they cannot take.
// QnRtn is the code a 9011 answer gives for it.
type Error struct {
	QnRtn  int
	Reason string
}

func (e *Error) Error() string { return "hj212: " + e.Reason }

func errorf(rtn int, format string, args ...any) *Error {
	return &Error{QnRtn: rtn, Reason: fmt.Sprintf(format, args...)}
}

// Packet is one HJ 212 packet's data segment, split into its fields.
type Packet struct {
	QN   string // request number, yyyyMMddHHmmssZZZ; may be empty for uploads
	ST   string // system code, e.g. 22 for ambient air
	CN   string // command code, e.g. 2011
	PW   string // the station's access password
	MN   string // the station's unique code (设备唯一标识)
	Flag int    // flag bits (FlagAck, FlagSplit, version); -1 when absent
	PNUM string // total packets, when FlagSplit is set
	PNO  string // this packet's number, when FlagSplit is set
	CP   string // the command's parameters, between CP=&& and &&
}

// CRC16 returns the checksum HJ 212-2017 appendix A defines over the data
// segment: a register starting at 0xFFFF, each byte XORed into the register
// shifted right by 8, then 8 rounds of shifting right and XORing 0xA001 when
// the bit shifted out is 1. (It is not CRC-16/MODBUS: the byte meets the
// register after the shift.)
func CRC16(data []byte) uint16 {
	reg := uint16(0xFFFF)
	for _, b := range data {
		reg = (reg >> 8) ^ uint16(b)
		for range 8 {
			lsb := reg & 1
			reg >>= 1
			if lsb == 1 {
				reg ^= 0xA001
			}
		}
	}
	return reg
}

// Decode reads one packet, frame included ("##" to "\r\n"). It checks the
// length digits against the data segment, the CRC (hexadecimal, either
// case) and the fields; it returns an *Error when the packet cannot be
// taken, with the QnRtn code of the answer to give (QnRtnCRC for a bad
// checksum).
func Decode(frame []byte) (*Packet, error) {
	if len(frame) < overhead {
		return nil, errorf(QnRtnUnknown, "packet of %d bytes is shorter than its frame", len(frame))
	}
	if frame[0] != '#' || frame[1] != '#' {
		return nil, errorf(QnRtnUnknown, "packet does not start with ##")
	}
	if !bytes.HasSuffix(frame, []byte("\r\n")) {
		return nil, errorf(QnRtnUnknown, "packet does not end with CR LF")
	}
	n, ok := digits(frame[2:6])
	if !ok {
		return nil, errorf(QnRtnUnknown, "length %q is not four decimal digits", frame[2:6])
	}
	if n != len(frame)-overhead {
		return nil, errorf(QnRtnUnknown, "length says %d bytes of data, the packet has %d", n, len(frame)-overhead)
	}
	data := frame[6 : 6+n]
	want, err := strconv.ParseUint(string(frame[6+n:6+n+4]), 16, 16)
	if err != nil || frame[6+n] == '+' || frame[6+n] == '-' {
		return nil, errorf(QnRtnCRC, "CRC %q is not four hexadecimal digits", frame[6+n:6+n+4])
	}
	if got := CRC16(data); uint64(got) != want {
		return nil, errorf(QnRtnCRC, "CRC is %04X, the data segment's is %04X", want, got)
	}
	return DecodeData(string(data))
}

func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// DecodeData splits a data segment (without frame, length or CRC) into its
// fields. CP must come last and end with &&; the other fields are
// name=value pairs separated by semicolons, each at most once.
func DecodeData(data string) (*Packet, error) {
	head, cp, ok := strings.Cut(data, "CP=&&")
	if !ok {
		return nil, errorf(QnRtnUnknown, "data segment has no CP=&&")
	}
	if !strings.HasSuffix(cp, "&&") {
		return nil, errorf(QnRtnUnknown, "CP does not end with &&")
	}
	p := &Packet{Flag: -1, CP: cp[:len(cp)-2]}
	var seen uint8 // a bit per field (fieldBit)
	for field := range strings.SplitSeq(head, ";") {
		if field == "" {
			continue
		}
		name, value, ok := strings.Cut(field, "=")
		if !ok {
			return nil, errorf(QnRtnUnknown, "field %q has no =", clip(field))
		}
		if bit := fieldBit(name); seen&bit != 0 {
			return nil, errorf(QnRtnUnknown, "field %s appears twice", clip(name))
		} else {
			seen |= bit
		}
		switch name {
		case "QN":
			if !validQN(value) {
				return nil, errorf(QnRtnQN, "QN %q is not yyyyMMddHHmmssZZZ", clip(value))
			}
			p.QN = value
		case "ST":
			if !validCode(value, 2, 5) {
				return nil, errorf(QnRtnST, "ST %q is not a system code", clip(value))
			}
			p.ST = value
		case "CN":
			if !validCode(value, 4, 7) {
				return nil, errorf(QnRtnCN, "CN %q is not a command code", clip(value))
			}
			p.CN = value
		case "PW":
			if len(value) > 32 || strings.ContainsAny(value, ",;=&") {
				return nil, errorf(QnRtnPW, "PW is longer than 32 characters or holds a separator")
			}
			p.PW = value
		case "MN":
			if value == "" || len(value) > 27 || !printable(value) {
				return nil, errorf(QnRtnMN, "MN %q is not 1 to 27 printable characters", clip(value))
			}
			p.MN = value
		case "Flag":
			f, ok := digits([]byte(value))
			if !ok || value == "" || len(value) > 3 || f > 255 {
				return nil, errorf(QnRtnFlag, "Flag %q is not a number from 0 to 255", clip(value))
			}
			p.Flag = f
		case "PNUM":
			p.PNUM = value
		case "PNO":
			p.PNO = value
		default:
			return nil, errorf(QnRtnUnknown, "unknown field %q", clip(name))
		}
	}
	switch {
	case p.ST == "":
		return nil, errorf(QnRtnST, "ST is missing")
	case p.CN == "":
		return nil, errorf(QnRtnCN, "CN is missing")
	case p.MN == "":
		return nil, errorf(QnRtnMN, "MN is missing")
	}
	return p, nil
}

// fieldBit returns the bit of a field name for DecodeData's check that no
// field comes twice; 0 for an unknown name, which DecodeData refuses.
func fieldBit(name string) uint8 {
	switch name {
	case "QN":
		return 1 << 0
	case "ST":
		return 1 << 1
	case "CN":
		return 1 << 2
	case "PW":
		return 1 << 3
	case "MN":
		return 1 << 4
	case "Flag":
		return 1 << 5
	case "PNUM":
		return 1 << 6
	case "PNO":
		return 1 << 7
	}
	return 0
}

func validQN(s string) bool {
	_, ok := digits([]byte(s))
	return ok && len(s) == 17
}

func validCode(s string, min, max int) bool {
	_, ok := digits([]byte(s))
	return ok && len(s) >= min && len(s) <= max
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' || s[i] == ';' || s[i] == '=' || s[i] == '&' || s[i] == ',' {
			return false
		}
	}
	return true
}

// clip bounds a piece of a packet quoted in an error.
func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}

// Data returns the packet's data segment as Encode writes it.
func (p *Packet) Data() string {
	var b strings.Builder
	field := func(name, value string) {
		b.WriteString(name)
		b.WriteByte('=')
		b.WriteString(value)
		b.WriteByte(';')
	}
	if p.QN != "" {
		field("QN", p.QN)
	}
	field("ST", p.ST)
	field("CN", p.CN)
	field("PW", p.PW)
	field("MN", p.MN)
	if p.Flag >= 0 {
		field("Flag", strconv.Itoa(p.Flag))
	}
	if p.PNUM != "" {
		field("PNUM", p.PNUM)
	}
	if p.PNO != "" {
		field("PNO", p.PNO)
	}
	b.WriteString("CP=&&")
	b.WriteString(p.CP)
	b.WriteString("&&")
	return b.String()
}

// Encode returns the packet with its frame: "##", length, data segment,
// CRC and CR LF. It fails when the data segment is longer than MaxData.
func (p *Packet) Encode() ([]byte, error) {
	return Frame(p.Data())
}

// Frame wraps a data segment in the packet's frame.
func Frame(data string) ([]byte, error) {
	if len(data) > MaxData {
		return nil, errorf(QnRtnUnknown, "data segment of %d bytes is longer than %d", len(data), MaxData)
	}
	out := make([]byte, 0, len(data)+overhead)
	out = fmt.Appendf(out, "##%04d", len(data))
	out = append(out, data...)
	out = fmt.Appendf(out, "%04X\r\n", CRC16([]byte(data)))
	return out, nil
}

// Ack returns the 9014 acknowledgement (数据应答) of an uploaded data packet
// p, which the station expects when p's Flag has FlagAck set.
func Ack(p *Packet) *Packet {
	return &Packet{QN: p.QN, ST: STSystem, CN: CNDataAck, PW: p.PW, MN: p.MN, Flag: Version2017}
}

// Refusal returns the 9011 answer (请求应答) with QnRtn code rtn, which
// tells a station why its packet was not taken (QnRtnCRC, QnRtnMN,
// QnRtnPW …). p may be nil when the packet could not be read at all.
func Refusal(p *Packet, rtn int) *Packet {
	a := &Packet{ST: STSystem, CN: CNRequest, Flag: Version2017, CP: "QnRtn=" + strconv.Itoa(rtn)}
	if p != nil {
		a.QN, a.PW, a.MN = p.QN, p.PW, p.MN
	}
	if a.MN == "" {
		a.MN = "0"
	}
	return a
}
