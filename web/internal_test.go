package web

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hutong/hutong"
)

// TestMessages keeps the translation table complete: every message has
// both languages, and every id the templates and handlers use exists,
// including those built from enumerations.
func TestMessages(t *testing.T) {
	for id, m := range messages {
		if m[0] == "" || m[1] == "" {
			t.Errorf("message %s lacks a translation: %q", id, m)
		}
	}
	used := map[string]bool{}
	literal := regexp.MustCompile(`\.T "([a-z_.]+)"|T\("([a-z_.]+)"|translate\([^,]+, "([a-z_.]+)"|"([a-z]+\.[a-z_.]+)"`)
	scan := func(name string, b []byte) {
		for _, m := range literal.FindAllSubmatch(b, -1) {
			for _, g := range m[1:] {
				if len(g) > 0 {
					used[string(g)] = true
				}
			}
		}
	}
	tpls, _ := fs.Glob(templateFS, "templates/*.html")
	for _, name := range tpls {
		b, _ := templateFS.ReadFile(name)
		scan(name, b)
	}
	gos, _ := filepath.Glob("dashboard*.go")
	for _, name := range gos {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		scan(name, b)
	}
	for _, s := range []string{"unconditional", "conditional", "none"} {
		used["share."+s] = true
	}
	for _, s := range []string{"open", "conditional", "closed"} {
		used["open."+s] = true
	}
	for _, s := range []string{"general", "important", "core"} {
		used["grade."+s] = true
	}
	for _, s := range []string{"pending", "approved", "rejected", "refused", "active", "revoked", "expired"} {
		used["status."+s] = true
	}
	for _, r := range []hutong.Role{hutong.RoleAdmin, hutong.RoleRegionAdmin, hutong.RoleSteward, hutong.RoleConsumer, hutong.RoleAuditor} {
		used["role."+string(r)] = true
	}
	for _, m := range []hutong.MaskRule{hutong.MaskNone, hutong.MaskName, hutong.MaskMobile, hutong.MaskPhone, hutong.MaskIDNumber, hutong.MaskAddress,
		hutong.MaskBankCard, hutong.MaskEmail, hutong.MaskPlate, hutong.MaskHash, hutong.MaskRedact} {
		used["mask."+string(m)] = true
	}
	for _, vt := range []hutong.ValueType{hutong.TypeString, hutong.TypeInteger, hutong.TypeDecimal, hutong.TypeDate, hutong.TypeDateTime, hutong.TypeBoolean} {
		used["type."+string(vt)] = true
	}
	for c := range hutong.UpdateCycles {
		used["cycle."+c] = true
	}
	for _, box := range []string{"inbox", "outbox", "region", "all"} {
		used["requests."+box] = true
	}
	for _, code := range []string{hutong.EINVALID, hutong.ENOTFOUND, hutong.ECONFLICT, hutong.EUNAUTHORIZED,
		hutong.EFORBIDDEN, hutong.ERATELIMITED, hutong.EUNAVAILABLE, hutong.EINTERNAL} {
		used["error."+code] = true
	}
	var missing []string
	for id := range used {
		// A prefix ("status.") builds ids from enumerations, checked above.
		if _, ok := messages[id]; !ok && !strings.HasSuffix(id, ".") {
			missing = append(missing, id)
		}
	}
	slices.Sort(missing)
	// Strings that look like ids but are not messages (paths, JSON keys)
	// are listed here when the scan picks them up.
	for _, id := range missing {
		if regexp.MustCompile(`^(overview|catalog|res|common|error|requests|agreements|keys|feedback|proof|env|aqi|login|nav|share|open|grade|status|type|mask|cycle|role|lang|app)\.`).MatchString(id) {
			t.Errorf("message %s is used but not in the table", id)
		}
	}
}

func TestFormatting(t *testing.T) {
	ints := []struct {
		n    int64
		want string
	}{{0, "0"}, {999, "999"}, {1000, "1,000"}, {12345, "12,345"}, {1234567, "1,234,567"}, {-12345, "-12,345"}}
	for _, tt := range ints {
		if got := formatInt(tt.n); got != tt.want {
			t.Errorf("formatInt(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
	nums := []struct {
		v    any
		want string
	}{{12345.67, "12,345.7"}, {100.0, "100"}, {88.05, "88.1"}, {int(42), "42"}, {uint64(1 << 20), "1,048,576"}}
	for _, tt := range nums {
		if got := formatNumber(tt.v); got != tt.want {
			t.Errorf("formatNumber(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
	day := time.Date(2026, 11, 1, 18, 5, 0, 0, time.UTC) // 2 Nov 02:05 in China
	for _, tt := range []struct{ lang, date, dateTime string }{
		{langZh, "2026年11月2日", "2026年11月2日 02:05"},
		{langEn, "2 Nov 2026", "2 Nov 2026 02:05"},
	} {
		if got := formatDate(tt.lang, day); got != tt.date {
			t.Errorf("formatDate(%s) = %q, want %q", tt.lang, got, tt.date)
		}
		if got := formatDateTime(tt.lang, day); got != tt.dateTime {
			t.Errorf("formatDateTime(%s) = %q, want %q", tt.lang, got, tt.dateTime)
		}
	}
	if got := formatDay(langEn, "2026-10-01"); got != "1 Oct 2026" {
		t.Errorf("formatDay = %q", got)
	}
	if got := translate(langEn, "requests.left", 3); got != "3 working days left" {
		t.Errorf("translate with an argument = %q", got)
	}
	if got := translate(langZh, "no.such.id"); got != "no.such.id" {
		t.Errorf("unknown id = %q, want the id", got)
	}
}

func TestSeasonalForecast(t *testing.T) {
	// Two weeks from Monday 16 Nov 2026: working days 100 calls (one
	// Monday 80), weekends 10.
	var days []time.Time
	var ys []float64
	for i := range 14 {
		d := time.Date(2026, 11, 16+i, 0, 0, 0, 0, hutong.ChinaTime)
		y := 100.0
		switch {
		case d.Weekday() == time.Saturday || d.Weekday() == time.Sunday:
			y = 10
		case i == 7:
			y = 80
		}
		days, ys = append(days, d), append(ys, y)
	}
	mid, lo, hi := seasonalForecast(days, ys, 7)
	// Mon 30 Nov … Sun 6 Dec.
	wantMid := []float64{90, 100, 100, 100, 100, 10, 10}
	wantLo := []float64{80, 100, 100, 100, 100, 10, 10}
	wantHi := []float64{100, 100, 100, 100, 100, 10, 10}
	if !slices.Equal(mid, wantMid) || !slices.Equal(lo, wantLo) || !slices.Equal(hi, wantHi) {
		t.Errorf("forecast %v [%v, %v], want %v [%v, %v]", mid, lo, hi, wantMid, wantLo, wantHi)
	}
	// A weekday the history lacks is forecast as none, not invented.
	mid, _, _ = seasonalForecast(days[:3], ys[:3], 7) // Mon–Wed only: Thu–Sun unknown
	if want := []float64{0, 0, 0, 0, 100, 100, 100}; !slices.Equal(mid, want) {
		t.Errorf("short history: %v, want %v", mid, want)
	}
	if got := weekMean([]float64{7, 7, 7, 7, 7, 7, 7, 14}); got[6] != 7 || got[7] != 8 {
		t.Errorf("weekMean = %v", got)
	}
}

func TestGeoCoord(t *testing.T) {
	g := mustGeoIndex()
	if len(g.codes) != 13 {
		t.Fatalf("jjj.geo.json has %d divisions, want 13 (北京, 天津 and Hebei's 11 cities)", len(g.codes))
	}
	for code, same := range map[string]string{"110000": "110000", "110105": "110000", "120000": "120000", "120101": "120000"} {
		if c, ok := g.provinceCentre(code); !ok || c != g.cp[same] {
			t.Errorf("provinceCentre(%s) = %v, %v; want the point of %s", code, c, ok, same)
		}
	}
	// Hebei has no feature of its own: the middle of its cities, not its
	// capital (石家庄, where every arc used to meet).
	for _, code := range []string{"130000", "130102", "131100"} {
		c, ok := g.provinceCentre(code)
		if !ok || c == g.cp["130100"] || c[0] < 115.5 || c[0] > 117 || c[1] < 38.5 || c[1] > 39.5 {
			t.Errorf("provinceCentre(%s) = %v, %v; want the middle of Hebei's cities", code, c, ok)
		}
	}
	for _, code := range []string{"310000", "bad"} {
		if c, ok := g.provinceCentre(code); ok {
			t.Errorf("provinceCentre(%s) = %v, want none (outside the map)", code, c)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/catalog?q=x": "/catalog?q=x", "": "/", "//evil.example": "/", "https://evil.example/": "/",
		"/\\evil": "/", "/api/v1/me": "/", "/ledger/checkpoint": "/",
		// Browsers drop tabs and newlines and read backslashes as slashes:
		// each of these would leave the site.
		"/%09/evil.example": "/", "/\t/evil.example": "/", "/%0a/evil.example": "/", "/%5C/evil.example": "/",
		"/%2F%2Fevil.example": "/", "/%2f/evil.example": "/", "/.%2F/evil.example": "/.%2F/evil.example", " //evil.example": "/",
		"http:/evil.example": "/", "/catalog#x": "/catalog", "/catalog/120000-TJYB-03?lang=en": "/catalog/120000-TJYB-03?lang=en",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
