package standard

import (
	"fmt"

	"github.com/hutong/hutong"
)

// Rule ids name the rule a value broke. They are stable: clients and
// translations key on them.
const (
	RuleRequired        = "required"         // the value is empty
	RuleType            = "type"             // the value is not of the element's type
	RuleFormat          = "format"           // the value is not written as the element requires
	RuleLength          = "length"           // too short or too long
	RuleCharset         = "charset"          // a character the element does not allow
	RuleCheckDigit      = "check_digit"      // the check character does not match
	RuleBirthDate       = "birth_date"       // the birth date in an identity number is not a real past date
	RuleUnknownDivision = "unknown_division" // not an administrative division of GB/T 2260
	RuleRange           = "range"            // a number or date outside the element's range
	RulePrecision       = "precision"        // too many fraction digits
	RuleCodeList        = "code_list"        // not one of the element's listed values
)

// RuleError reports a value that breaks its element's rule. Rule is one of
// the Rule ids; Message says in plain English what is wrong and what is
// expected. Messages never repeat a personal value in full.
type RuleError struct {
	Rule    string
	Message string
}

// Error returns the message.
func (e *RuleError) Error() string { return e.Message }

// Violation returns the error as a violation of field in data row row (0 when
// the value is not part of a row), ready for a hutong.Error's Details.
func (e *RuleError) Violation(row int, field string) hutong.Violation {
	return hutong.Violation{Row: row, Field: field, Rule: e.Rule, Message: e.Message}
}

func ruleErr(rule, format string, args ...any) *RuleError {
	if len(args) == 0 {
		return &RuleError{Rule: rule, Message: format}
	}
	return &RuleError{Rule: rule, Message: fmt.Sprintf(format, args...)}
}
