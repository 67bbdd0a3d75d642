// Package standard is hutong's dictionary of standard data elements (数据元):
// the kinds of value that resources share, how each is written, how it is
// checked and how it is masked before it leaves the hub.
//
// Elements and LookupElement list the elements. Parse and ParseValue check a
// value against its element's rule and return it in canonical form, or a
// *RuleError that names the broken rule and says what is expected. The
// identifiers carry the check digits of their national standards:
// 公民身份号码 (GB 11643-1999, ISO 7064 MOD 11-2, see CitizenIDCheck),
// 统一社会信用代码 (GB 32100-2015, MOD 31, see USCCCheck) and bank card
// numbers (ISO/IEC 7812 Luhn).
//
// A Masker applies the masking rules (脱敏) of hutong.MaskRule. Partial rules
// keep the parts of a value that identify its class (the province of an
// identity number, the carrier prefix of a mobile number) and hide the rest;
// a value too short to keep anything safely is hidden whole.
//
// Divisions, LookupDivision and DivisionChildren give the administrative
// divisions of GB/T 2260 down to county level, vendored from a pinned npm
// package by scripts/vendor-divisions.sh into gbt2260.tsv and embedded in
// the binary.
//
// Everything in the package is safe for concurrent use. Parse and the masks
// run once per field of every imported or exchanged row, so they avoid
// regular expressions and allocate little: for an input already in canonical
// form, Parse of most elements allocates only to box its result, and a mask
// allocates only its result.
package standard
