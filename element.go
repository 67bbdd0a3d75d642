package hutong

// ValueType is the storage type of a data element's values.
type ValueType string

// Value types. Decimal values are float64 in Go and round-trip exactly for
// the 15 significant digits that amounts and statistics need.
const (
	TypeString   ValueType = "string"
	TypeInteger  ValueType = "integer"
	TypeDecimal  ValueType = "decimal"
	TypeDate     ValueType = "date"     // YYYY-MM-DD
	TypeDateTime ValueType = "datetime" // RFC 3339, stored in UTC
	TypeBoolean  ValueType = "boolean"
)

// Valid reports whether t is one of the value types.
func (t ValueType) Valid() bool {
	switch t {
	case TypeString, TypeInteger, TypeDecimal, TypeDate, TypeDateTime, TypeBoolean:
		return true
	}
	return false
}

// MaskRule names how a value is masked (脱敏) before it leaves the hub.
type MaskRule string

// Masking rules, from weakest to strongest. Partial rules keep the parts of a
// value that identify its class, not its holder.
const (
	MaskNone     MaskRule = "none"
	MaskName     MaskRule = "name"      // 张** : first character kept
	MaskMobile   MaskRule = "mobile"    // 138****5678 : 3 + 4 kept
	MaskPhone    MaskRule = "phone"     // 010-****5678 : area code + last 4 kept
	MaskIDNumber MaskRule = "id_number" // 110101********1234 : 6 + 4 kept
	MaskAddress  MaskRule = "address"   // 北京市东城区**** : down to the district kept
	MaskBankCard MaskRule = "bank_card" // 6222********1234 : 4 + 4 kept
	MaskEmail    MaskRule = "email"     // z***@example.cn : first character and domain kept
	MaskPlate    MaskRule = "plate"     // 京A***45 : province, authority and last 2 kept
	MaskHash     MaskRule = "hash"      // keyed digest: joinable, not readable
	MaskRedact   MaskRule = "redact"    // nothing of the value kept
)

// Valid reports whether m is one of the masking rules.
func (m MaskRule) Valid() bool {
	switch m {
	case MaskNone, MaskName, MaskMobile, MaskPhone, MaskIDNumber, MaskAddress,
		MaskBankCard, MaskEmail, MaskPlate, MaskHash, MaskRedact:
		return true
	}
	return false
}

// Strength orders masking rules: none < any partial rule < hash < redact.
// An agreement may tighten an item's default masking, never loosen it.
func (m MaskRule) Strength() int {
	switch m {
	case MaskNone, "":
		return 0
	case MaskHash:
		return 2
	case MaskRedact:
		return 3
	}
	return 1
}

// Element is a standard data element (数据元): one kind of value with its
// type, its validation rule and, when it identifies a person, its default
// masking. Every information item of every resource maps to one element, so
// the same thing is written and checked the same way in every region.
type Element struct {
	ID     string    `json:"id"`
	Name   string    `json:"name"`
	NameEn string    `json:"name_en"`
	Type   ValueType `json:"type"`
	// Format describes the accepted values and the standard behind them,
	// e.g. "GB 11643-1999, 18 characters, ISO 7064 MOD 11-2 check".
	Format string `json:"format"`
	// Unit is the unit of measure of numeric values, e.g. "μg/m³".
	Unit string `json:"unit,omitempty"`
	// Personal reports whether values identify or describe a natural person
	// (个人信息).
	Personal bool `json:"personal"`
	// Masking is the default masking of items mapped to this element.
	Masking MaskRule `json:"masking"`
	// MinLevel is the lowest classification level (1–4) of a resource that
	// carries this element.
	MinLevel int `json:"min_level"`
}
