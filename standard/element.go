package standard

import (
	"math"
	"sort"
	"strings"

	"github.com/hutong/hutong"
)

// elementRule is an element of the dictionary with the rule that checks its
// values. parse gets a non-empty value without surrounding white space.
type elementRule struct {
	hutong.Element
	parse func(s string) (any, error)
}

// elementRules is the dictionary. Levels follow the rule that an element
// which identifies a person on its own (identity number, bank card) needs a
// level-3 resource, and one that describes or reaches a person level 2.
var elementRules = []elementRule{
	// Identifiers.
	{el("citizen_id", "公民身份号码", "Citizen identity number", hutong.TypeString,
		"GB 11643-1999: 18 characters, the GB/T 2260 division code, birth date YYYYMMDD, sequence number and an ISO 7064 MOD 11-2 check character (0–9 or X)",
		"", true, hutong.MaskIDNumber, 3), parseCitizenID},
	{el("uscc", "统一社会信用代码", "Unified social credit code", hutong.TypeString,
		"GB 32100-2015: 18 digits and capital letters (no I, O, S, V, Z); characters 3–8 the GB/T 2260 division code; MOD 31 check character",
		"", false, hutong.MaskNone, 1), parseUSCC},
	{el("division_code", "行政区划代码", "Administrative division code", hutong.TypeString,
		"GB/T 2260: six-digit code of a province, prefecture-level city or county, e.g. 130102",
		"", false, hutong.MaskNone, 1), parseDivisionCode},
	{el("bank_card", "银行卡号", "Bank card number", hutong.TypeString,
		"ISO/IEC 7812: 16 to 19 digits with a Luhn check digit",
		"", true, hutong.MaskBankCard, 3), parseBankCard},
	{el("plate", "车牌号", "Vehicle plate number", hutong.TypeString,
		"GA 36-2018: province abbreviation, authority letter and 5 characters, or 6 for new-energy vehicles (D/F); no I or O; e.g. 京A12345, 冀AD12345",
		"", true, hutong.MaskPlate, 2), parsePlate},

	// People and contacts.
	{el("person_name", "姓名", "Person name", hutong.TypeString,
		"1 to 50 characters: letters of any script, spaces and the middle dot · of transliterated names (GB 18030); no digits or symbols",
		"", true, hutong.MaskName, 2), parsePersonName},
	{el("gender", "性别", "Gender", hutong.TypeString,
		"GB/T 2261.1-2003 code: 0 未知的性别, 1 男性, 2 女性, 9 未说明的性别; the labels 男 and 女 are accepted",
		"", true, hutong.MaskNone, 2),
		codeList("gender code of GB/T 2261.1", "0, 1, 2, 9, 男 or 女", genderCodes)},
	{el("mobile", "手机号码", "Mobile phone number", hutong.TypeString,
		"11 digits starting 13–19, optionally written with +86 and spaces or hyphens; stored as 11 digits",
		"", true, hutong.MaskMobile, 2), parseMobile},
	{el("phone", "固定电话", "Fixed-line phone number", hutong.TypeString,
		"area code (010, 02X or 0XXX) and a 7- or 8-digit number, optional extension; stored as AREA-NUMBER[-EXT], e.g. 010-12345678",
		"", true, hutong.MaskPhone, 2), parsePhone},
	{el("email", "电子邮箱", "E-mail address", hutong.TypeString,
		"one address per RFC 5322 without display name, at most 254 characters",
		"", true, hutong.MaskEmail, 2), parseEmail},
	{el("address", "地址", "Address", hutong.TypeString,
		"1 to 200 characters, from the province down, e.g. 北京市东城区景山前街4号",
		"", true, hutong.MaskAddress, 2), textRule(200, "address", false)},
	{el("postal_code", "邮政编码", "Postal code", hutong.TypeString,
		"six digits",
		"", false, hutong.MaskNone, 1), parsePostalCode},

	// Organisations.
	{el("org_name", "机构名称", "Organisation name", hutong.TypeString,
		"1 to 100 characters, the registered name",
		"", false, hutong.MaskNone, 1), textRule(100, "organisation name", false)},
	{el("enterprise_type", "企业类型", "Enterprise type", hutong.TypeString,
		"1 to 50 characters, the registered type, e.g. 有限责任公司（自然人投资或控股）",
		"", false, hutong.MaskNone, 1), textRule(50, "enterprise type", false)},
	{el("business_scope", "经营范围", "Business scope", hutong.TypeString,
		"at most 2000 characters",
		"", false, hutong.MaskNone, 1), textRule(2000, "business scope", true)},

	// Social insurance.
	{el("insurance_type", "险种", "Insurance type", hutong.TypeString,
		"one of "+strings.Join(insuranceTypes, ", "),
		"", false, hutong.MaskNone, 1),
		codeList("social insurance type", strings.Join(insuranceTypes, ", "), identity(insuranceTypes))},
	{el("insured_status", "参保状态", "Insured status", hutong.TypeString,
		"one of "+strings.Join(insuredStatuses, ", "),
		"", true, hutong.MaskNone, 2),
		codeList("insured status", strings.Join(insuredStatuses, ", "), identity(insuredStatuses))},

	// General values.
	{el("text", "文本", "Text", hutong.TypeString,
		"at most 2000 characters",
		"", false, hutong.MaskNone, 1), textRule(2000, "text", true)},
	{el("count", "数量", "Count", hutong.TypeInteger,
		"whole number, 0 or more",
		"", false, hutong.MaskNone, 1), intRange(0, math.MaxInt64, "")},
	{el("amount", "金额", "Amount", hutong.TypeDecimal,
		"decimal number in yuan with at most 4 fraction digits",
		"元", false, hutong.MaskNone, 1), decRange(math.Inf(-1), math.Inf(1), 4, "元")},
	{el("percent", "比率", "Percentage", hutong.TypeDecimal,
		"decimal number in percent; may be negative (a decrease) or above 100",
		"%", false, hutong.MaskNone, 1), decRange(math.Inf(-1), math.Inf(1), -1, "%")},
	{el("date", "日期", "Date", hutong.TypeDate,
		"calendar date YYYY-MM-DD (GB/T 7408); YYYYMMDD, YYYY/M/D and YYYY年M月D日 are accepted",
		"", false, hutong.MaskNone, 1), parseDate},
	{el("datetime", "日期时间", "Date and time", hutong.TypeDateTime,
		"RFC 3339 date and time, or YYYY-MM-DD HH:MM[:SS] in China Standard Time; stored in UTC to the second",
		"", false, hutong.MaskNone, 1), parseDateTime},
	{el("flag", "是否标志", "Yes/no flag", hutong.TypeBoolean,
		"true or false; 是/否 and 1/0 are accepted",
		"", false, hutong.MaskNone, 1), parseBool},
	{el("year", "年份", "Year", hutong.TypeInteger,
		"four-digit year from 1949 to 2100",
		"", false, hutong.MaskNone, 1), intRange(1949, 2100, "")},

	// Statistics.
	{el("gdp", "地区生产总值", "Gross regional product", hutong.TypeDecimal,
		"decimal number, 0 or more, in 亿元 (100 million yuan)",
		"亿元", false, hutong.MaskNone, 1), decRange(0, math.Inf(1), -1, "亿元")},
	{el("population", "常住人口", "Resident population", hutong.TypeDecimal,
		"decimal number, 0 or more, in 万人 (10,000 persons)",
		"万人", false, hutong.MaskNone, 1), decRange(0, math.Inf(1), -1, "万人")},

	// Environment (HJ 633-2012, HJ 663-2013).
	{el("station_code", "监测站点编码", "Monitoring station code", hutong.TypeString,
		"code of a national air quality monitoring station: four digits and a letter, e.g. 1001A",
		"", false, hutong.MaskNone, 1), parseStationCode},
	{el("aqi", "空气质量指数", "Air quality index", hutong.TypeInteger,
		"HJ 633-2012: whole number from 0 to 500",
		"", false, hutong.MaskNone, 1), intRange(0, 500, "")},
	{el("primary_pollutant", "首要污染物", "Primary pollutant", hutong.TypeString,
		"HJ 633-2012: SO2, NO2, PM10, PM2.5, CO, O3 (O3_8h, O3_1h), several separated by commas, or - for none",
		"", false, hutong.MaskNone, 1), parsePollutant},
	{el("pm25", "PM2.5浓度", "PM2.5 concentration", hutong.TypeDecimal,
		"HJ 633-2012: decimal number, 0 or more, in μg/m³",
		"μg/m³", false, hutong.MaskNone, 1), decRange(0, math.Inf(1), -1, "μg/m³")},
	{el("pm10", "PM10浓度", "PM10 concentration", hutong.TypeDecimal,
		"HJ 633-2012: decimal number, 0 or more, in μg/m³",
		"μg/m³", false, hutong.MaskNone, 1), decRange(0, math.Inf(1), -1, "μg/m³")},
	{el("so2", "二氧化硫浓度", "SO2 concentration", hutong.TypeDecimal,
		"HJ 633-2012: decimal number, 0 or more, in μg/m³",
		"μg/m³", false, hutong.MaskNone, 1), decRange(0, math.Inf(1), -1, "μg/m³")},
	{el("no2", "二氧化氮浓度", "NO2 concentration", hutong.TypeDecimal,
		"HJ 633-2012: decimal number, 0 or more, in μg/m³",
		"μg/m³", false, hutong.MaskNone, 1), decRange(0, math.Inf(1), -1, "μg/m³")},
	{el("o3", "臭氧浓度", "O3 concentration", hutong.TypeDecimal,
		"HJ 633-2012: decimal number, 0 or more, in μg/m³",
		"μg/m³", false, hutong.MaskNone, 1), decRange(0, math.Inf(1), -1, "μg/m³")},
	{el("co", "一氧化碳浓度", "CO concentration", hutong.TypeDecimal,
		"HJ 633-2012: decimal number, 0 or more, in mg/m³",
		"mg/m³", false, hutong.MaskNone, 1), decRange(0, math.Inf(1), -1, "mg/m³")},

	// Transport.
	{el("road_code", "道路编码", "Road code", hutong.TypeString,
		"GB/T 917-2017 route number: G, S, X, Y, C or Z and one to four digits, e.g. G1, G4501, S203",
		"", false, hutong.MaskNone, 1), parseRoadCode},
	{el("vehicle_count", "车流量", "Vehicle count", hutong.TypeInteger,
		"whole number of vehicles, 0 or more",
		"辆", false, hutong.MaskNone, 1), intRange(0, math.MaxInt64, "辆")},
	{el("avg_speed", "平均车速", "Average speed", hutong.TypeDecimal,
		"decimal number from 0 to 200 km/h",
		"km/h", false, hutong.MaskNone, 1), decRange(0, 200, -1, "km/h")},
}

func el(id, name, nameEn string, t hutong.ValueType, format, unit string, personal bool, mask hutong.MaskRule, minLevel int) hutong.Element {
	return hutong.Element{ID: id, Name: name, NameEn: nameEn, Type: t, Format: format, Unit: unit,
		Personal: personal, Masking: mask, MinLevel: minLevel}
}

// elementIndex and elementList are the dictionary by id and in id order.
var elementIndex, elementList = func() (map[string]*elementRule, []hutong.Element) {
	idx := make(map[string]*elementRule, len(elementRules))
	list := make([]hutong.Element, 0, len(elementRules))
	for i := range elementRules {
		r := &elementRules[i]
		if _, dup := idx[r.ID]; dup {
			panic("standard: duplicate element " + r.ID)
		}
		idx[r.ID] = r
		list = append(list, r.Element)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	return idx, list
}()

// Elements returns the standard data elements of the dictionary, ordered by
// id. The slice is the caller's to modify.
func Elements() []hutong.Element {
	return append([]hutong.Element(nil), elementList...)
}

// LookupElement returns the element with the given id. ok is false when the
// dictionary has no such element.
func LookupElement(id string) (e hutong.Element, ok bool) {
	r, ok := elementIndex[id]
	if !ok {
		return hutong.Element{}, false
	}
	return r.Element, true
}
