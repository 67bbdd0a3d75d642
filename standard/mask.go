package standard

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/hutong/hutong"
)

// Masker masks values by the rules of hutong.MaskRule. Key keys the hash
// rule (HMAC-SHA256) and must be set for it: without a key, hash masks like
// redact, because an unkeyed digest of an identity number can be reversed by
// trying every number. Key must not change after the first Mask.
//
// A Masker is safe for concurrent use. It must not be copied after first use.
type Masker struct {
	Key []byte

	once   sync.Once
	pool   sync.Pool // *hmacState keyed with Key
	agreed sync.Map  // agreement id → *Masker keyed with AgreementKey
}

// For returns the Masker of one agreement: its hash rule is keyed with
// AgreementKey(m.Key, agreement), so that the digests two agreements give
// of one value differ and their consumers cannot join each other's data;
// the other rules mask as m does. It is made on first use and kept.
func (m *Masker) For(agreement string) *Masker {
	if a, ok := m.agreed.Load(agreement); ok {
		return a.(*Masker)
	}
	var key []byte
	if len(m.Key) > 0 {
		key = AgreementKey(m.Key, agreement)
	}
	a, _ := m.agreed.LoadOrStore(agreement, &Masker{Key: key})
	return a.(*Masker)
}

// AgreementKey derives the key of hash masking under one agreement from
// the hub's masking key: HMAC-SHA256(key, "hutong/mask/agreement/v1" 0x00
// agreement). The hub gives it to the node of the agreement's resource.
func AgreementKey(key []byte, agreement string) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("hutong/mask/agreement/v1\x00"))
	mac.Write([]byte(agreement))
	return mac.Sum(nil)
}

type hmacState struct {
	mac hash.Hash
	buf [256]byte // input chunks, so the input never escapes to the heap
	sum [sha256.Size]byte
}

// Redacted is what the redact rule, an unknown rule and a hash without a key
// give for any value.
const Redacted = "***"

// Mask returns v masked by rule: nil stays nil, rule none (or "") returns v
// unchanged, and any other rule returns a string, the masked text form of v
// (see MaskString). Numbers, booleans and json.Numbers are masked by their
// text. An unknown rule redacts: masking fails closed.
func (m *Masker) Mask(rule hutong.MaskRule, v any) any {
	if v == nil {
		return nil
	}
	if rule == hutong.MaskNone || rule == "" {
		return v
	}
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case json.Number:
		s = string(x)
	case int64:
		s = strconv.FormatInt(x, 10)
	case int:
		s = strconv.Itoa(x)
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		s = strconv.FormatBool(x)
	default:
		s = fmt.Sprint(x)
	}
	return m.MaskString(rule, s)
}

// MaskRow masks vals in place, each by the rule at its position in rules
// (a rule none or "" leaves its value as it is): a row of a planned read,
// masked where the data lives, be it the hub or a region's node.
func (m *Masker) MaskRow(rules []hutong.MaskRule, vals []any) {
	for i, rule := range rules {
		if rule != hutong.MaskNone && rule != "" {
			vals[i] = m.Mask(rule, vals[i])
		}
	}
}

// MaskString returns s masked by rule. Partial rules count characters, not
// bytes, and replace each hidden character by "*", except address and email,
// which hide a part of unknown length behind "****" or "***":
//
//	name       张三 → 张*                       first character kept
//	mobile     13812345678 → 138****5678       3 + 4 kept
//	phone      010-12345678 → 010-****5678     area code + last 4 of the number kept
//	id_number  110101199003071234 → 110101********1234   6 + 4 kept
//	address    北京市东城区景山前街4号 → 北京市东城区****   down to the district kept
//	bank_card  6222021234567890 → 6222********7890       4 + 4 kept
//	email      zhang@example.cn → z***@example.cn        first character and domain kept
//	plate      京A12345 → 京A***45              2 + 2 kept
//	hash       "h:" and 32 hex digits of HMAC-SHA256 under Key: joinable, not readable
//	redact     ***
//
// A value too short to keep its parts and still hide something is hidden
// whole. The empty string stays empty under every rule but redact. Rule none
// (or "") returns s; an unknown rule gives Redacted.
func (m *Masker) MaskString(rule hutong.MaskRule, s string) string {
	switch rule {
	case hutong.MaskNone, "":
		return s
	case hutong.MaskRedact:
		return Redacted
	}
	if s == "" {
		switch rule {
		case hutong.MaskName, hutong.MaskMobile, hutong.MaskPhone, hutong.MaskIDNumber, hutong.MaskAddress,
			hutong.MaskBankCard, hutong.MaskEmail, hutong.MaskPlate, hutong.MaskHash:
			return ""
		}
		return Redacted
	}
	switch rule {
	case hutong.MaskName:
		return keepEnds(s, 1, 0)
	case hutong.MaskMobile:
		return keepEnds(s, 3, 4)
	case hutong.MaskIDNumber:
		return keepEnds(s, 6, 4)
	case hutong.MaskBankCard:
		return keepEnds(s, 4, 4)
	case hutong.MaskPlate:
		return keepEnds(s, 2, 2)
	case hutong.MaskPhone:
		return maskPhone(s)
	case hutong.MaskEmail:
		return maskEmail(s)
	case hutong.MaskAddress:
		return maskAddress(s)
	case hutong.MaskHash:
		return m.hash(s)
	}
	return Redacted
}

// stars serves masks of up to 64 hidden characters without allocating.
const stars = "****************************************************************"

func starString(n int) string {
	if n <= len(stars) {
		return stars[:n]
	}
	return strings.Repeat("*", n)
}

// keepEnds keeps the first head and last tail characters of s and replaces
// the others by "*", one per character. When s has head+tail characters or
// fewer, every character is replaced.
func keepEnds(s string, head, tail int) string {
	n := runeCount(s)
	if n <= head+tail {
		return starString(n)
	}
	h, t := runeOffset(s, head), tailOffset(s, tail)
	hidden := n - head - tail
	var b strings.Builder
	b.Grow(h + hidden + len(s) - t)
	b.WriteString(s[:h])
	writeStars(&b, hidden)
	b.WriteString(s[t:])
	return b.String()
}

func writeStars(b *strings.Builder, n int) {
	for n > len(stars) {
		b.WriteString(stars)
		n -= len(stars)
	}
	b.WriteString(stars[:n])
}

// runeCount is utf8.RuneCountInString with an ASCII fast path.
func runeCount(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return utf8.RuneCountInString(s)
		}
	}
	return len(s)
}

// runeOffset returns the byte offset of the n-th character of s, or len(s).
func runeOffset(s string, n int) int {
	i := 0
	for ; n > 0 && i < len(s); n-- {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return i
}

// tailOffset returns the byte offset of the last n characters of s.
func tailOffset(s string, n int) int {
	t := len(s)
	for ; n > 0 && t > 0; n-- {
		_, size := utf8.DecodeLastRuneInString(s[:t])
		t -= size
	}
	return t
}

// maskPhone keeps the area code and the last 4 digits of the local number of
// a fixed-line number and hides the rest of the number and any extension:
// 010-12345678-123 → 010-****5678-***. Without a recognisable area code it
// keeps only the last 4 characters.
func maskPhone(s string) string {
	area, number, ext, sep := "", s, "", ""
	if s[0] == '0' {
		if i := strings.IndexAny(s, "- "); i >= 3 && i <= 4 && digitRun(s) == i {
			area, number, sep = s[:i], s[i+1:], s[i:i+1]
		} else if al := areaCodeLen(byteAt(s, 1)); al > 0 && digitRun(s) == len(s) && len(s) > al {
			area, number = s[:al], s[al:]
		}
	}
	if area == "" {
		return keepEnds(s, 0, 4)
	}
	if i := strings.IndexAny(number, "- 转"); i >= 0 {
		number, ext = number[:i], number[i:]
	}
	nn := runeCount(number)
	keep := 4
	if nn <= keep {
		keep = 0
	}
	ne := runeCount(ext)
	var b strings.Builder
	b.Grow(len(area) + len(sep) + nn + len(ext))
	b.WriteString(area)
	b.WriteString(sep)
	writeStars(&b, nn-keep)
	b.WriteString(number[tailOffset(number, keep):])
	if ne > 0 {
		// Keep the separator of the extension, hide its digits.
		_, size := utf8.DecodeRuneInString(ext)
		b.WriteString(ext[:size])
		writeStars(&b, ne-1)
	}
	return b.String()
}

func byteAt(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}

// maskEmail keeps the first character of the local part and the domain:
// zhang@example.cn → z***@example.cn. A one-character local part is hidden
// whole (***@example.cn); without an @ the value is redacted.
func maskEmail(s string) string {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 {
		return Redacted
	}
	_, size := utf8.DecodeRuneInString(s)
	if size >= at {
		size = 0
	}
	var b strings.Builder
	b.Grow(size + 3 + len(s) - at)
	b.WriteString(s[:size])
	b.WriteString("***")
	b.WriteString(s[at:])
	return b.String()
}

// addressScan is how far into an address maskAddress looks for the
// district-level unit.
const addressScan = 12

// maskAddress keeps an address down to its district or county: the leading
// part up to and including the last 省, 市, 区, 县 or 旗 within its first 12
// characters, and writes "****" for the rest. 区 of 小区, 社区, 园区, 校区 and
// 厂区 and 市 of 超市 and 市场 are not units. With no unit, it keeps at most
// the first 6 characters and at most half of the address.
func maskAddress(s string) string {
	end, n := 0, 0
	var prev rune
	for i, r := range s {
		if n == addressScan {
			break
		}
		n++
		switch r {
		case '省', '县', '旗':
			end = i + utf8.RuneLen(r)
		case '区':
			switch prev {
			case '小', '社', '园', '校', '厂':
			default:
				end = i + utf8.RuneLen(r)
			}
		case '市':
			next, _ := utf8.DecodeRuneInString(s[i+len("市"):])
			if prev != '超' && next != '场' {
				end = i + utf8.RuneLen(r)
			}
		}
		prev = r
	}
	if end == 0 {
		end = runeOffset(s, min(6, runeCount(s)/2))
	}
	return s[:end] + "****"
}

// hash returns "h:" and the first 16 bytes of HMAC-SHA256(Key, s) in hex.
func (m *Masker) hash(s string) string {
	if len(m.Key) == 0 {
		return Redacted
	}
	m.once.Do(func() {
		key := append([]byte(nil), m.Key...)
		m.pool.New = func() any { return &hmacState{mac: hmac.New(sha256.New, key)} }
	})
	st := m.pool.Get().(*hmacState)
	st.mac.Reset()
	for len(s) > 0 {
		n := copy(st.buf[:], s)
		st.mac.Write(st.buf[:n])
		s = s[n:]
	}
	sum := st.mac.Sum(st.sum[:0])
	const hexDigits = "0123456789abcdef"
	var out [2 + 32]byte
	out[0], out[1] = 'h', ':'
	for i, c := range sum[:16] {
		out[2+2*i] = hexDigits[c>>4]
		out[3+2*i] = hexDigits[c&0xf]
	}
	m.pool.Put(st)
	return string(out[:])
}
