package standard

import (
	"sort"
	"strings"
	"testing"

	"github.com/hutong/hutong"
)

func TestElements(t *testing.T) {
	type want struct {
		name     string
		typ      hutong.ValueType
		personal bool
		mask     hutong.MaskRule
		level    int
		unit     string
	}
	none := hutong.MaskNone
	str, dec := hutong.TypeString, hutong.TypeDecimal
	wants := map[string]want{
		"citizen_id":        {"公民身份号码", str, true, hutong.MaskIDNumber, 3, ""},
		"uscc":              {"统一社会信用代码", str, false, none, 1, ""},
		"division_code":     {"行政区划代码", str, false, none, 1, ""},
		"person_name":       {"姓名", str, true, hutong.MaskName, 2, ""},
		"mobile":            {"手机号码", str, true, hutong.MaskMobile, 2, ""},
		"phone":             {"固定电话", str, true, hutong.MaskPhone, 2, ""},
		"address":           {"地址", str, true, hutong.MaskAddress, 2, ""},
		"date":              {"日期", hutong.TypeDate, false, none, 1, ""},
		"datetime":          {"日期时间", hutong.TypeDateTime, false, none, 1, ""},
		"amount":            {"金额", dec, false, none, 1, "元"},
		"plate":             {"车牌号", str, true, hutong.MaskPlate, 2, ""},
		"email":             {"电子邮箱", str, true, hutong.MaskEmail, 2, ""},
		"bank_card":         {"银行卡号", str, true, hutong.MaskBankCard, 3, ""},
		"gender":            {"性别", str, true, none, 2, ""},
		"text":              {"文本", str, false, none, 1, ""},
		"count":             {"数量", hutong.TypeInteger, false, none, 1, ""},
		"org_name":          {"机构名称", str, false, none, 1, ""},
		"enterprise_type":   {"企业类型", str, false, none, 1, ""},
		"business_scope":    {"经营范围", str, false, none, 1, ""},
		"insurance_type":    {"险种", str, false, none, 1, ""},
		"insured_status":    {"参保状态", str, true, none, 2, ""},
		"station_code":      {"监测站点编码", str, false, none, 1, ""},
		"aqi":               {"空气质量指数", hutong.TypeInteger, false, none, 1, ""},
		"pm25":              {"PM2.5浓度", dec, false, none, 1, "μg/m³"},
		"pm10":              {"PM10浓度", dec, false, none, 1, "μg/m³"},
		"so2":               {"二氧化硫浓度", dec, false, none, 1, "μg/m³"},
		"no2":               {"二氧化氮浓度", dec, false, none, 1, "μg/m³"},
		"o3":                {"臭氧浓度", dec, false, none, 1, "μg/m³"},
		"co":                {"一氧化碳浓度", dec, false, none, 1, "mg/m³"},
		"primary_pollutant": {"首要污染物", str, false, none, 1, ""},
		"road_code":         {"道路编码", str, false, none, 1, ""},
		"vehicle_count":     {"车流量", hutong.TypeInteger, false, none, 1, "辆"},
		"avg_speed":         {"平均车速", dec, false, none, 1, "km/h"},
		"year":              {"年份", hutong.TypeInteger, false, none, 1, ""},
		"gdp":               {"地区生产总值", dec, false, none, 1, "亿元"},
		"population":        {"常住人口", dec, false, none, 1, "万人"},
		"percent":           {"比率", dec, false, none, 1, "%"},
	}
	for id, w := range wants {
		t.Run(id, func(t *testing.T) {
			e, ok := LookupElement(id)
			if !ok {
				t.Fatalf("LookupElement(%q): not found", id)
			}
			if e.ID != id || e.Name != w.name || e.Type != w.typ || e.Personal != w.personal ||
				e.Masking != w.mask || e.MinLevel != w.level || e.Unit != w.unit {
				t.Errorf("got %+v, want id %s name %s type %s personal %v masking %s level %d unit %q",
					e, id, w.name, w.typ, w.personal, w.mask, w.level, w.unit)
			}
		})
	}

	all := Elements()
	if !sort.SliceIsSorted(all, func(i, j int) bool { return all[i].ID < all[j].ID }) {
		t.Error("Elements: not ordered by id")
	}
	for _, e := range all {
		switch {
		case e.NameEn == "" || e.Format == "":
			t.Errorf("%s: empty NameEn or Format", e.ID)
		case !e.Type.Valid():
			t.Errorf("%s: invalid type %q", e.ID, e.Type)
		case e.MinLevel < 1 || e.MinLevel > 4:
			t.Errorf("%s: MinLevel %d, want 1–4", e.ID, e.MinLevel)
		case e.Personal != (e.MinLevel >= 2):
			t.Errorf("%s: personal %v but MinLevel %d", e.ID, e.Personal, e.MinLevel)
		case e.Masking.Strength() > 0 && !e.Personal:
			t.Errorf("%s: masked by default but not personal", e.ID)
		}
	}
	all[0].Name = "changed"
	if Elements()[0].Name == "changed" {
		t.Error("Elements: returned the dictionary's own slice")
	}
	if _, ok := LookupElement("no_such_element"); ok {
		t.Error(`LookupElement("no_such_element"): got ok`)
	}
}

// TestElementFormatsCiteStandards keeps the human descriptions honest about
// their sources.
func TestElementFormatsCiteStandards(t *testing.T) {
	for id, std := range map[string]string{
		"citizen_id": "GB 11643-1999", "uscc": "GB 32100-2015", "division_code": "GB/T 2260",
		"gender": "GB/T 2261.1", "aqi": "HJ 633-2012", "plate": "GA 36", "bank_card": "ISO/IEC 7812",
	} {
		if e := mustElement(t, id); !strings.Contains(e.Format, std) {
			t.Errorf("%s: Format %q does not cite %s", id, e.Format, std)
		}
	}
}
