package standard

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hutong/hutong"
)

// fixNow sets the clock of the birth-date rule for the test.
func fixNow(t *testing.T, tm time.Time) {
	t.Helper()
	old := now
	now = func() time.Time { return tm }
	t.Cleanup(func() { now = old })
}

func mustElement(t testing.TB, id string) hutong.Element {
	t.Helper()
	e, ok := LookupElement(id)
	if !ok {
		t.Fatalf("LookupElement(%q): not found", id)
	}
	return e
}

// withCheck appends the check character that check computes for body.
func withCheck(t testing.TB, body string, check func(string) (byte, error)) string {
	t.Helper()
	c, err := check(body)
	if err != nil {
		t.Fatalf("check(%q): %v", body, err)
	}
	return body + string(rune(c))
}

// withLuhn appends the Luhn check digit to the digits body.
func withLuhn(body string) string {
	for d := byte('0'); d <= '9'; d++ {
		if luhnValid(body + string(rune(d))) {
			return body + string(rune(d))
		}
	}
	panic("unreachable")
}

type parseCase struct {
	in   string
	want any    // canonical value when rule is ""
	rule string // the RuleError's rule, "" for a valid value
}

func runParseCases(t *testing.T, id string, cases []parseCase) {
	t.Helper()
	e := mustElement(t, id)
	for _, c := range cases {
		t.Run(id+"/"+c.in, func(t *testing.T) {
			got, err := Parse(e, c.in)
			if c.rule == "" {
				if err != nil {
					t.Fatalf("Parse(%s, %q): got error %v, want %#v", id, c.in, err, c.want)
				}
				if got != c.want {
					t.Fatalf("Parse(%s, %q): got %#v, want %#v", id, c.in, got, c.want)
				}
				// Canonical values are fixed points.
				again, err := Parse(e, toText(got))
				if err != nil || again != got {
					t.Fatalf("Parse(%s, %q) (re-parse of the canonical value): got %#v, %v, want %#v", id, toText(got), again, err, got)
				}
				return
			}
			var re *RuleError
			if !errors.As(err, &re) {
				t.Fatalf("Parse(%s, %q): got %#v, %v, want a *RuleError with rule %q", id, c.in, got, err, c.rule)
			}
			if re.Rule != c.rule {
				t.Fatalf("Parse(%s, %q): got rule %q (%s), want %q", id, c.in, re.Rule, re.Message, c.rule)
			}
			if got != nil {
				t.Errorf("Parse(%s, %q): got value %#v with an error, want nil", id, c.in, got)
			}
			if re.Message == "" {
				t.Errorf("Parse(%s, %q): empty message", id, c.in)
			}
		})
	}
}

// toText writes a canonical value back as text.
func toText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	panic(fmt.Sprintf("unexpected value %#v", v))
}

func TestParseCitizenID(t *testing.T) {
	fixNow(t, time.Date(2025, 6, 15, 12, 0, 0, 0, chinaTime))
	valid := withCheck(t, "11010119900307123", CitizenIDCheck)
	bornToday := withCheck(t, "13010220250615001", CitizenIDCheck)
	leap2000 := withCheck(t, "11010520000229001", CitizenIDCheck)
	hongKong := withCheck(t, "81000019900307123", CitizenIDCheck)
	taiwan := withCheck(t, "83000019900307123", CitizenIDCheck)
	earliest := withCheck(t, "53010219000101123", CitizenIDCheck)
	runParseCases(t, "citizen_id", []parseCase{
		{"11010519491231002X", "11010519491231002X", ""}, // the example of GB 11643-1999
		{"11010519491231002x", "11010519491231002X", ""},
		{"  11010519491231002X\t", "11010519491231002X", ""},
		{valid, valid, ""},
		{bornToday, bornToday, ""},
		{hongKong, hongKong, ""},                    // Hong Kong residents' residence permit
		{taiwan, taiwan, ""},                        // Taiwan residents' residence permit
		{earliest, earliest, ""},                    // earliest birth date
		{"110105194912310025", nil, RuleCheckDigit}, // wrong check digit
		{"110105194912310021", nil, RuleCheckDigit},
		{withCheck(t, "11010520250616001", CitizenIDCheck), nil, RuleBirthDate}, // born tomorrow
		{withCheck(t, "11010518991231001", CitizenIDCheck), nil, RuleBirthDate}, // before 1900
		{withCheck(t, "11010519900230001", CitizenIDCheck), nil, RuleBirthDate}, // 30 February
		{withCheck(t, "11010519901301001", CitizenIDCheck), nil, RuleBirthDate}, // month 13
		{withCheck(t, "11010519000229001", CitizenIDCheck), nil, RuleBirthDate}, // 1900 is not a leap year
		{leap2000, leap2000, ""}, // 2000 is
		{withCheck(t, "99010519491231002", CitizenIDCheck), nil, RuleUnknownDivision}, // no province 99
		{withCheck(t, "00010519491231002", CitizenIDCheck), nil, RuleUnknownDivision},
		{"110105491231002", nil, RuleLength}, // first generation
		{"11010519491231002", nil, RuleLength},
		{"11010519491231002X1", nil, RuleLength},
		{"1101051949123100XX", nil, RuleCharset},
		{"11010519491231002Y", nil, RuleCharset},
		{"11010519491231002Ｘ", nil, RuleLength}, // full-width X: 18 runes, 20 bytes
		{"", nil, RuleRequired},
		{"   ", nil, RuleRequired},
	})
}

func TestParseUSCC(t *testing.T) {
	computed := withCheck(t, "91130102MA07K3Q2X", USCCCheck)
	central := withCheck(t, "11100000000013302", USCCCheck) // a central authority: division 100000
	runParseCases(t, "uscc", []parseCase{
		{"91350100M000100Y43", "91350100M000100Y43", ""}, // commonly published
		{"91350100m000100y43", "91350100M000100Y43", ""},
		{computed, computed, ""},
		{central, central, ""},
		{"91350100M000100Y44", nil, RuleCheckDigit},
		{"91350100M000100Y4", nil, RuleLength},
		{"91350100M000100Y4I", nil, RuleCharset}, // I is not in the set
		{"91350100M000100O43", nil, RuleCharset},
		{"9135010 M000100Y43", nil, RuleCharset},
		{withCheck(t, "91A50100M000100Y4", USCCCheck), nil, RuleFormat},          // division not digits
		{withCheck(t, "91990100M000100Y4", USCCCheck), nil, RuleUnknownDivision}, // no province 99
		{"9135010０M000100Y43", nil, RuleLength},
	})
}

func TestParseDivisionCode(t *testing.T) {
	runParseCases(t, "division_code", []parseCase{
		{"110000", "110000", ""},
		{"130100", "130100", ""},
		{"130102", "130102", ""},
		{"429004", "429004", ""},
		{"810000", "810000", ""},
		{"110100", nil, RuleUnknownDivision}, // placeholder 市辖区 is not a division
		{"130171", nil, RuleUnknownDivision}, // statistical-only development zone
		{"999999", nil, RuleUnknownDivision},
		{"13010", nil, RuleFormat},
		{"13010a", nil, RuleFormat},
		{"1301020", nil, RuleFormat},
	})
}

func TestParseMobile(t *testing.T) {
	runParseCases(t, "mobile", []parseCase{
		{"13812345678", "13812345678", ""},
		{"19912345678", "19912345678", ""},
		{"+86 138 1234 5678", "13812345678", ""},
		{"+8613812345678", "13812345678", ""},
		{"8613812345678", "13812345678", ""},
		{"008613812345678", "13812345678", ""},
		{"138-1234-5678", "13812345678", ""},
		{"12812345678", nil, RuleFormat},
		{"23812345678", nil, RuleFormat},
		{"+85213812345678", nil, RuleFormat},
		{"1381234567", nil, RuleLength},
		{"138123456789", nil, RuleLength},
		{"138(1234)5678", nil, RuleCharset},
		{"１３８12345678", nil, RuleCharset},
	})
}

func TestParsePhone(t *testing.T) {
	runParseCases(t, "phone", []parseCase{
		{"010-12345678", "010-12345678", ""},
		{"0311-85812345", "0311-85812345", ""},
		{"0311-8581234", "0311-8581234", ""},
		{"021 62345678", "021-62345678", ""},
		{"(010)62345678", "010-62345678", ""},
		{"（010）62345678", "010-62345678", ""},
		{"01062345678", "010-62345678", ""},
		{"031185812345", "0311-85812345", ""},
		{"010-62345678-123", "010-62345678-123", ""},
		{"010-62345678转123", "010-62345678-123", ""},
		{"010-62345678 ext. 9", "010-62345678-9", ""},
		{"0101-2345678", nil, RuleFormat}, // 010 is a three-digit area code
		{"011-62345678", nil, RuleFormat},
		{"001-62345678", nil, RuleFormat},
		{"62345678", nil, RuleFormat}, // no area code
		{"010-623456", nil, RuleLength},
		{"010-623456789", nil, RuleLength},
		{"010-02345678", nil, RuleFormat},
		{"010-62345678-1234567", nil, RuleFormat},
		{"010-62345678#12", nil, RuleFormat},
		{"(010-62345678", nil, RuleFormat},
	})
}

func TestParseEmail(t *testing.T) {
	runParseCases(t, "email", []parseCase{
		{"zhang.san@example.gov.cn", "zhang.san@example.gov.cn", ""},
		{"Zhang@Example.GOV.cn", "Zhang@example.gov.cn", ""},
		{"张三@例子.中国", "张三@例子.中国", ""},
		{"a+b@x.cn", "a+b@x.cn", ""},
		{`"zhang san"@example.cn`, nil, RuleFormat}, // quoted local parts are refused
		{"li-si@sub-domain.example.cn", "li-si@sub-domain.example.cn", ""},
		{"zhang@example-.cn", nil, RuleFormat},
		{"zhang@-example.cn", nil, RuleFormat},
		{"zhang@example..cn", nil, RuleFormat},
		{"zhang@exa_mple.cn", nil, RuleFormat},
		{"zhang@example.cn.", nil, RuleFormat},
		{".zhang@example.cn", nil, RuleFormat},
		{"zh..ang@example.cn", nil, RuleFormat},
		{"zhang@example.cn\xff", nil, RuleFormat},
		{"Zhang San <zhang@example.cn>", nil, RuleFormat},
		{"<zhang@example.cn>", nil, RuleFormat},
		{"zhang@example.cn, li@example.cn", nil, RuleFormat},
		{"zhang@localhost", nil, RuleFormat},
		{"zhang@[10.0.0.1]", nil, RuleFormat},
		{"zhang.example.cn", nil, RuleFormat},
		{"zhang@@example.cn", nil, RuleFormat},
		{strings.Repeat("a", 250) + "@x.cn", nil, RuleLength},
	})
}

func TestParsePlate(t *testing.T) {
	runParseCases(t, "plate", []parseCase{
		{"京A12345", "京A12345", ""},
		{"京a12345", "京A12345", ""},
		{"京A·12345", "京A12345", ""},
		{"冀 F 3B5C7", "冀F3B5C7", ""},
		{"冀AD12345", "冀AD12345", ""}, // small new-energy, pure electric
		{"沪AFA1234", "沪AFA1234", ""}, // small new-energy, hybrid
		{"粤B12345D", "粤B12345D", ""}, // large new-energy
		{"京A1234警", "京A1234警", ""},
		{"粤Z1234港", "粤Z1234港", ""},
		{"使014578", "使014578", ""},
		{"京AI2345", nil, RuleCharset},
		{"京AO2345", nil, RuleCharset},
		{"京A1234", nil, RuleLength},
		{"京A1234567", nil, RuleLength},
		{"京AA12345", nil, RuleFormat}, // six after the letter, but not D/F
		{"京A12345X", nil, RuleFormat},
		{"沪AF1A234", nil, RuleFormat}, // small new-energy: the last four are digits
		{"A12345", nil, RuleFormat},
		{"港A12345", nil, RuleFormat},
		{"京112345", nil, RuleFormat},
		{"京A12警45", nil, RuleCharset},
		{"京A_12345", nil, RuleCharset},
	})
}

func TestParseBankCard(t *testing.T) {
	unionPay19 := withLuhn("621226200000000012")
	runParseCases(t, "bank_card", []parseCase{
		{"4111111111111111", "4111111111111111", ""},
		{"5555555555554444", "5555555555554444", ""},
		{"6011111111111117", "6011111111111117", ""},
		{"4111 1111 1111 1111", "4111111111111111", ""},
		{unionPay19, unionPay19, ""},
		{"4111111111111112", nil, RuleCheckDigit},
		{"4111111111111121", nil, RuleCheckDigit}, // two digits swapped
		{"378282246310005", nil, RuleLength},      // 15 digits
		{"41111111111111111111", nil, RuleLength},
		{"4111-1111-1111-111a", nil, RuleCharset},
	})
}

func TestParsePersonName(t *testing.T) {
	runParseCases(t, "person_name", []parseCase{
		{"张三", "张三", ""},
		{"欧阳娜娜", "欧阳娜娜", ""},
		{"买买提·艾力", "买买提·艾力", ""},
		{"买买提•艾力", "买买提·艾力", ""},
		{"阿依古丽・买买提", "阿依古丽·买买提", ""},
		{"John Smith", "John Smith", ""},
		{"张", "张", ""},
		{strings.Repeat("张", 50), strings.Repeat("张", 50), ""},
		{strings.Repeat("张", 51), nil, RuleLength},
		{"张3", nil, RuleCharset},
		{"张三!", nil, RuleCharset},
		{"O'Brien", nil, RuleCharset},
		{"·艾力", nil, RuleFormat},
		{"艾力·", nil, RuleFormat},
		{"买买提··艾力", nil, RuleFormat},
		{"John  Smith", nil, RuleFormat},
		{"张\x00三", nil, RuleCharset},
		{"张\xff三", nil, RuleCharset},
	})
}

func TestParseText(t *testing.T) {
	runParseCases(t, "address", []parseCase{
		{"北京市东城区景山前街4号", "北京市东城区景山前街4号", ""},
		{strings.Repeat("路", 200), strings.Repeat("路", 200), ""},
		{strings.Repeat("路", 201), nil, RuleLength},
		{"北京市\n东城区", nil, RuleCharset},
		{"北京市\xc3东城区", nil, RuleCharset},
	})
	runParseCases(t, "text", []parseCase{
		{"第一行\n第二行", "第一行\n第二行", ""},
		{strings.Repeat("字", 2000), strings.Repeat("字", 2000), ""},
		{strings.Repeat("字", 2001), nil, RuleLength},
		{"bell\a", nil, RuleCharset},
	})
	runParseCases(t, "business_scope", []parseCase{
		{"软件开发；信息技术咨询服务。", "软件开发；信息技术咨询服务。", ""},
		{strings.Repeat("字", 2001), nil, RuleLength},
	})
	runParseCases(t, "org_name", []parseCase{
		{"河北省数据和政务服务局", "河北省数据和政务服务局", ""},
		{strings.Repeat("字", 101), nil, RuleLength},
	})
	runParseCases(t, "enterprise_type", []parseCase{
		{"有限责任公司（自然人投资或控股）", "有限责任公司（自然人投资或控股）", ""},
		{strings.Repeat("字", 51), nil, RuleLength},
	})
}

func TestParseCodeLists(t *testing.T) {
	runParseCases(t, "gender", []parseCase{
		{"0", "0", ""}, {"1", "1", ""}, {"2", "2", ""}, {"9", "9", ""},
		{"男", "1", ""}, {"女", "2", ""}, {"男性", "1", ""}, {"未说明的性别", "9", ""},
		{"3", nil, RuleCodeList}, {"M", nil, RuleCodeList},
	})
	runParseCases(t, "insurance_type", []parseCase{
		{"职工基本医疗保险", "职工基本医疗保险", ""},
		{"城乡居民基本医疗保险", "城乡居民基本医疗保险", ""},
		{"生育保险", "生育保险", ""},
		{"医疗保险", nil, RuleCodeList},
	})
	runParseCases(t, "insured_status", []parseCase{
		{"参保缴费", "参保缴费", ""}, {"暂停缴费", "暂停缴费", ""}, {"终止参保", "终止参保", ""},
		{"正常", nil, RuleCodeList},
	})
	runParseCases(t, "primary_pollutant", []parseCase{
		{"PM2.5", "PM2.5", ""},
		{"pm10", "PM10", ""},
		{"O3_8h", "O3_8h", ""},
		{"臭氧8小时", "O3_8h", ""},
		{"细颗粒物", "PM2.5", ""},
		{"—", "-", ""},
		{"PM2.5,PM10", "PM2.5,PM10", ""},
		{"PM2.5、二氧化氮", "PM2.5,NO2", ""},
		{"PM1", nil, RuleCodeList},
		{"PM2.5,—", nil, RuleFormat},
	})
	runParseCases(t, "station_code", []parseCase{
		{"1001A", "1001A", ""}, {"1001a", "1001A", ""},
		{"1001", nil, RuleFormat}, {"A1001", nil, RuleFormat}, {"10011A", nil, RuleFormat},
	})
	runParseCases(t, "road_code", []parseCase{
		{"G1", "G1", ""}, {"G4501", "G4501", ""}, {"S203", "S203", ""}, {"x012", "X012", ""},
		{"G", nil, RuleFormat}, {"G45011", nil, RuleFormat}, {"A1", nil, RuleFormat}, {"京G1", nil, RuleFormat},
	})
	runParseCases(t, "postal_code", []parseCase{
		{"100009", "100009", ""}, {"10000", nil, RuleFormat},
	})
}

func TestParseNumbers(t *testing.T) {
	runParseCases(t, "count", []parseCase{
		{"0", int64(0), ""}, {"42", int64(42), ""}, {"+7", int64(7), ""}, {"007", int64(7), ""},
		{"9223372036854775807", int64(9223372036854775807), ""},
		{"-1", nil, RuleRange},
		{"9223372036854775808", nil, RuleRange},
		{"1.5", nil, RuleType}, {"1e3", nil, RuleType}, {"1,000", nil, RuleType}, {"0x10", nil, RuleType},
		{"1_000", nil, RuleType}, {"+", nil, RuleType}, {"十", nil, RuleType},
	})
	runParseCases(t, "year", []parseCase{
		{"1949", int64(1949), ""}, {"2100", int64(2100), ""},
		{"1948", nil, RuleRange}, {"2101", nil, RuleRange}, {"2024.0", nil, RuleType},
	})
	runParseCases(t, "aqi", []parseCase{
		{"0", int64(0), ""}, {"500", int64(500), ""}, {"501", nil, RuleRange}, {"-1", nil, RuleRange},
	})
	runParseCases(t, "vehicle_count", []parseCase{{"1200", int64(1200), ""}, {"-5", nil, RuleRange}})
	runParseCases(t, "amount", []parseCase{
		{"12.34", 12.34, ""}, {"-5", float64(-5), ""}, {"0.0001", 0.0001, ""}, {"1234567890.1234", 1234567890.1234, ""},
		{"-0", float64(0), ""}, {".5", 0.5, ""}, {"5.", float64(5), ""},
		{"0.00001", nil, RulePrecision},
		{"1e3", nil, RuleType}, {"NaN", nil, RuleType}, {"Inf", nil, RuleType}, {"1,234.50", nil, RuleType},
		{"¥12", nil, RuleType}, {".", nil, RuleType}, {"1.2.3", nil, RuleType},
	})
	runParseCases(t, "pm25", []parseCase{
		{"35", float64(35), ""}, {"35.5", 35.5, ""}, {"1.2e2", float64(120), ""}, {"0", float64(0), ""},
		{"-0.1", nil, RuleRange}, {"NaN", nil, RuleType}, {"+Inf", nil, RuleType}, {"1e400", nil, RuleRange},
		{"0x1p4", nil, RuleType}, {"1e", nil, RuleType},
	})
	for _, id := range []string{"pm10", "so2", "no2", "o3", "co", "gdp", "population"} {
		runParseCases(t, id, []parseCase{{"12.5", 12.5, ""}, {"-1", nil, RuleRange}, {"abc", nil, RuleType}})
	}
	runParseCases(t, "avg_speed", []parseCase{
		{"0", float64(0), ""}, {"62.5", 62.5, ""}, {"200", float64(200), ""}, {"200.1", nil, RuleRange}, {"-1", nil, RuleRange},
	})
	runParseCases(t, "percent", []parseCase{
		{"12.5", 12.5, ""}, {"-3.2", -3.2, ""}, {"150", float64(150), ""}, {"12%", nil, RuleType},
	})
}

func TestParseDates(t *testing.T) {
	runParseCases(t, "date", []parseCase{
		{"2024-02-29", "2024-02-29", ""},
		{"20240229", "2024-02-29", ""},
		{"2024/2/9", "2024-02-09", ""},
		{"2024/02/09", "2024-02-09", ""},
		{"2024-2-9", "2024-02-09", ""},
		{"2024.2.9", "2024-02-09", ""},
		{"2024年2月9日", "2024-02-09", ""},
		{"2023-02-29", nil, RuleRange},
		{"2024-04-31", nil, RuleRange},
		{"2024-13-01", nil, RuleRange},
		{"0000-01-01", nil, RuleRange},
		{"2024-00-10", nil, RuleRange},
		{"24-02-09", nil, RuleFormat},
		{"2024/2/9/1", nil, RuleFormat},
		{"2024-2/9", nil, RuleFormat},
		{"2024年2月9", nil, RuleFormat},
		{"2024-02-09T00:00:00Z", nil, RuleFormat},
		{"yesterday", nil, RuleFormat},
	})
	runParseCases(t, "datetime", []parseCase{
		{"2024-05-01T08:30:00Z", "2024-05-01T08:30:00Z", ""},
		{"2024-05-01T08:30:00+08:00", "2024-05-01T00:30:00Z", ""},
		{"2024-05-01T08:30:00.999+08:00", "2024-05-01T00:30:00Z", ""},
		{"2024-05-01 08:30", "2024-05-01T00:30:00Z", ""},
		{"2024-05-01 08:30:15", "2024-05-01T00:30:15Z", ""},
		{"2024-05-01 8:30", "2024-05-01T00:30:00Z", ""},
		{"2024-05-01T08:30:15", "2024-05-01T00:30:15Z", ""},
		{"2024/5/1 08:30", "2024-05-01T00:30:00Z", ""},
		{"2024-01-01 07:00", "2023-12-31T23:00:00Z", ""},
		{"2024-05-01", nil, RuleFormat},
		{"2024-05-01 24:00", nil, RuleRange},
		{"2024-05-01 08:60", nil, RuleRange},
		{"2024-02-30 08:00", nil, RuleRange},
		{"2024-05-01T25:00:00Z", nil, RuleFormat},
		{"2024-05-01T08:30:00+0800", nil, RuleFormat},
		{"2024-05-01T08:30:00z", nil, RuleFormat},
		{"2024-05-01 08", nil, RuleFormat},
		{"9999-12-31T23:00:00-08:00", nil, RuleRange},
		{"May 1 2024", nil, RuleFormat},
	})
	runParseCases(t, "flag", []parseCase{
		{"true", true, ""}, {"TRUE", true, ""}, {"tRuE", true, ""}, {"是", true, ""}, {"1", true, ""},
		{"false", false, ""}, {"否", false, ""}, {"0", false, ""},
		{"yes", nil, RuleType}, {"2", nil, RuleType},
	})
}

func TestParseUnknownElement(t *testing.T) {
	for _, c := range []struct {
		e    hutong.Element
		in   string
		want any
		rule string
	}{
		{hutong.Element{ID: "local_note", Type: hutong.TypeString}, "任意文本", "任意文本", ""},
		{hutong.Element{ID: "local_note", Type: hutong.TypeString}, "a\x00b", nil, RuleCharset},
		{hutong.Element{ID: "local_n", Type: hutong.TypeInteger}, "-12", int64(-12), ""},
		{hutong.Element{ID: "local_x", Type: hutong.TypeDecimal}, "-1.5e2", float64(-150), ""},
		{hutong.Element{ID: "local_d", Type: hutong.TypeDate}, "20240501", "2024-05-01", ""},
		{hutong.Element{ID: "local_t", Type: hutong.TypeDateTime}, "2024-05-01 08:00", "2024-05-01T00:00:00Z", ""},
		{hutong.Element{ID: "local_b", Type: hutong.TypeBoolean}, "否", false, ""},
		{hutong.Element{ID: "local_q", Type: "money"}, "1", nil, RuleType},
	} {
		t.Run(c.e.ID+"/"+c.in, func(t *testing.T) {
			got, err := Parse(c.e, c.in)
			if c.rule == "" {
				if err != nil || got != c.want {
					t.Fatalf("Parse(%s, %q): got %#v, %v, want %#v", c.e.ID, c.in, got, err, c.want)
				}
				return
			}
			var re *RuleError
			if !errors.As(err, &re) || re.Rule != c.rule {
				t.Fatalf("Parse(%s, %q): got %#v, %v, want rule %q", c.e.ID, c.in, got, err, c.rule)
			}
		})
	}
}

func TestParseValue(t *testing.T) {
	for _, c := range []struct {
		id   string
		in   any
		want any
		rule string
	}{
		{"mobile", json.Number("13812345678"), "13812345678", ""},
		{"mobile", "13812345678", "13812345678", ""},
		{"count", json.Number("12"), int64(12), ""},
		{"count", "12", int64(12), ""},
		{"count", json.Number("12.5"), nil, RuleType},
		{"count", float64(12), int64(12), ""},
		{"count", int64(12), int64(12), ""},
		{"count", 12, int64(12), ""},
		{"amount", json.Number("1.25"), 1.25, ""},
		{"division_code", json.Number("130102"), "130102", ""},
		{"date", json.Number("20240501"), "2024-05-01", ""},
		{"flag", true, true, ""},
		{"flag", json.Number("0"), false, ""},
		{"count", true, nil, RuleType},
		{"mobile", nil, nil, RuleRequired},
		{"mobile", "", nil, RuleRequired},
		{"mobile", []any{"1"}, nil, RuleType},
		{"mobile", map[string]any{}, nil, RuleType},
	} {
		t.Run(c.id, func(t *testing.T) {
			got, err := ParseValue(mustElement(t, c.id), c.in)
			if c.rule == "" {
				if err != nil || got != c.want {
					t.Fatalf("ParseValue(%s, %#v): got %#v, %v, want %#v", c.id, c.in, got, err, c.want)
				}
				return
			}
			var re *RuleError
			if !errors.As(err, &re) || re.Rule != c.rule {
				t.Fatalf("ParseValue(%s, %#v): got %#v, %v, want rule %q", c.id, c.in, got, err, c.rule)
			}
		})
	}
}

func TestRuleError(t *testing.T) {
	_, err := Parse(mustElement(t, "citizen_id"), "110105194912310025")
	var re *RuleError
	if !errors.As(err, &re) {
		t.Fatalf("got %v, want a *RuleError", err)
	}
	if want := `check digit is "5", want "X" (GB 11643 ISO 7064 MOD 11-2)`; err.Error() != want {
		t.Errorf("Error(): got %q, want %q", err.Error(), want)
	}
	v := re.Violation(3, "身份证号")
	if v.Row != 3 || v.Field != "身份证号" || v.Rule != RuleCheckDigit || v.Message != re.Message {
		t.Errorf("Violation: got %+v", v)
	}
}

// TestParseMessagesKeepPersonalValues checks that a rejected identity
// number, bank card or mobile number does not reappear whole in the message.
func TestParseMessagesKeepPersonalValues(t *testing.T) {
	for _, c := range []struct{ id, in string }{
		{"citizen_id", "110105194912310025"},
		{"citizen_id", "990105194912310025"},
		{"bank_card", "4111111111111112"},
		{"mobile", "12812345678"},
		{"uscc", "91350100M000100Y44"},
	} {
		_, err := Parse(mustElement(t, c.id), c.in)
		if err == nil {
			t.Fatalf("Parse(%s, %q): got no error", c.id, c.in)
		}
		if strings.Contains(err.Error(), c.in) {
			t.Errorf("Parse(%s, %q): message %q repeats the value", c.id, c.in, err)
		}
	}
}
