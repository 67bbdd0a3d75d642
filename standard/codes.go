package standard

import (
	"strings"
)

// codeList returns a parser that maps each accepted spelling to its canonical
// value. The values are boxed once, so a lookup does not allocate.
func codeList(what string, allowed string, spellings map[string]string) func(string) (any, error) {
	boxed := make(map[string]any, len(spellings))
	for k, v := range spellings {
		boxed[k] = v
	}
	return func(s string) (any, error) {
		if v, ok := boxed[s]; ok {
			return v, nil
		}
		return nil, ruleErr(RuleCodeList, "%s is not a %s; want one of %s", quote(s), what, allowed)
	}
}

// genderCodes are the codes of GB/T 2261.1-2003 with their labels.
var genderCodes = map[string]string{
	"0": "0", "未知的性别": "0", "未知": "0",
	"1": "1", "男性": "1", "男": "1",
	"2": "2", "女性": "2", "女": "2",
	"9": "9", "未说明的性别": "9", "未说明": "9",
}

// insuranceTypes are the social insurance types (险种) of the national social
// insurance public service platform.
var insuranceTypes = []string{
	"企业职工基本养老保险",
	"机关事业单位基本养老保险",
	"城乡居民基本养老保险",
	"职工基本医疗保险",
	"城乡居民基本医疗保险",
	"生育保险",
	"失业保险",
	"工伤保险",
	"长期护理保险",
	"城乡居民大病保险",
	"职工大额医疗费用补助",
	"公务员医疗补助",
}

// insuredStatuses are the insured statuses (参保状态) of a person.
var insuredStatuses = []string{"参保缴费", "暂停缴费", "终止参保"}

func identity(vs []string) map[string]string {
	m := make(map[string]string, len(vs))
	for _, v := range vs {
		m[v] = v
	}
	return m
}

// pollutants maps the spellings of the pollutants of HJ 633-2012 to their
// codes. "-" stands for none (AQI of 50 or less has no primary pollutant).
var pollutants = map[string]string{
	"SO2": "SO2", "二氧化硫": "SO2",
	"NO2": "NO2", "二氧化氮": "NO2",
	"PM10": "PM10", "可吸入颗粒物": "PM10", "颗粒物(PM10)": "PM10", "颗粒物（PM10）": "PM10",
	"PM2.5": "PM2.5", "细颗粒物": "PM2.5", "颗粒物(PM2.5)": "PM2.5", "颗粒物（PM2.5）": "PM2.5",
	"CO": "CO", "一氧化碳": "CO",
	"O3": "O3", "臭氧": "O3",
	"O3_8h": "O3_8h", "O3_8H": "O3_8h", "O3-8H": "O3_8h", "臭氧8小时": "O3_8h", "臭氧(8小时)": "O3_8h", "臭氧（8小时）": "O3_8h",
	"O3_1h": "O3_1h", "O3_1H": "O3_1h", "O3-1H": "O3_1h", "臭氧1小时": "O3_1h", "臭氧(1小时)": "O3_1h", "臭氧（1小时）": "O3_1h",
	"-": "-", "—": "-", "--": "-", "——": "-", "无": "-",
}

var boxedPollutants = func() map[string]any {
	m := make(map[string]any, len(pollutants))
	for k, v := range pollutants {
		m[k] = v
	}
	return m
}()

// parsePollutant checks the primary pollutant(s) of HJ 633-2012: SO2, NO2,
// PM10, PM2.5, CO, O3 (O3_8h, O3_1h), or "-" for none; several are
// separated by commas or 、. Chinese names and lowercase are accepted;
// the result is the codes joined by ",".
func parsePollutant(s string) (any, error) {
	if v, ok := boxedPollutants[s]; ok {
		return v, nil
	}
	parts := strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == '，' || r == '、' || r == ';' || r == '；' || r == ' '
	})
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		v, ok := pollutants[strings.ToUpper(p)]
		if !ok {
			return nil, ruleErr(RuleCodeList, "%s is not a pollutant of HJ 633-2012; want SO2, NO2, PM10, PM2.5, CO, O3, O3_8h, O3_1h or - for none", quote(p))
		}
		if v == "-" && len(parts) > 1 {
			return nil, ruleErr(RuleFormat, "%s lists pollutants and none at once", quote(s))
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, ruleErr(RuleCodeList, "%s is not a pollutant of HJ 633-2012", quote(s))
	}
	return strings.Join(out, ","), nil
}

// parseStationCode checks the code of a national air quality monitoring
// station (国控监测站点): four digits and a capital letter, e.g. 1001A.
func parseStationCode(s string) (any, error) {
	if len(s) == 5 && isDigits(s[:4], 4) {
		switch c := s[4]; {
		case 'A' <= c && c <= 'Z':
			return s, nil
		case 'a' <= c && c <= 'z':
			return s[:4] + string(rune(c-('a'-'A'))), nil
		}
	}
	return nil, ruleErr(RuleFormat, "%s is not a monitoring station code; want four digits and a letter, e.g. 1001A", quote(s))
}

// parseRoadCode checks a highway route number (GB/T 917-2017): the
// administrative letter G (national), S (provincial), X (county), Y
// (township), C (village) or Z (special), then one to four digits: G1, G4501,
// S203, X012. Lowercase is written as uppercase.
func parseRoadCode(s string) (any, error) {
	if len(s) >= 2 && len(s) <= 5 && isDigits(s[1:], len(s)-1) {
		switch s[0] {
		case 'G', 'S', 'X', 'Y', 'C', 'Z':
			return s, nil
		case 'g', 's', 'x', 'y', 'c', 'z':
			return string(rune(s[0]-('a'-'A'))) + s[1:], nil
		}
	}
	return nil, ruleErr(RuleFormat, "%s is not a road code; want G, S, X, Y, C or Z and one to four digits, e.g. G1, G4501, S203 (GB/T 917-2017)", quote(s))
}

// parsePostalCode checks a six-digit postal code.
func parsePostalCode(s string) (any, error) {
	if isDigits(s, 6) {
		return s, nil
	}
	return nil, ruleErr(RuleFormat, "%s is not a postal code; want six digits", quote(s))
}
