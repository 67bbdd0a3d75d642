package demo

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"

	"github.com/hutong/hutong/standard"
)

// gen draws the demo's values from one seeded generator, so the same seed
// always yields the same data.
type gen struct{ r *rand.Rand }

func newGen(seed uint64, stream uint64) *gen {
	return &gen{r: rand.New(rand.NewPCG(seed, stream))}
}

func (g *gen) intn(n int) int                  { return g.r.IntN(n) }
func (g *gen) between(lo, hi int) int          { return lo + g.r.IntN(hi-lo+1) }
func (g *gen) float() float64                  { return g.r.Float64() }
func (g *gen) pick(xs []string) string         { return xs[g.r.IntN(len(xs))] }
func (g *gen) chance(p float64) bool           { return g.r.Float64() < p }
func (g *gen) normal(mean, sd float64) float64 { return mean + sd*g.r.NormFloat64() }

func (g *gen) digits(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + g.r.IntN(10))
	}
	return string(b)
}

var surnames = []string{"王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林", "何", "郭", "马", "罗",
	"梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "萧", "程", "曹", "袁", "邓", "许", "傅", "沈", "曾", "彭", "吕", "苏", "卢", "蒋", "蔡", "贾", "丁", "魏", "薛", "叶", "阎",
	"欧阳", "司马", "上官"}

var givenChars = []string{"伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀", "霞", "平",
	"刚", "桂", "英", "华", "建", "国", "文", "辉", "玲", "红", "鑫", "宇", "浩", "欣", "怡", "博", "晨", "睿", "子", "涵", "梓", "轩", "佳", "琪", "一", "诺", "雨", "泽", "思", "彤"}

func (g *gen) personName() string {
	name := g.pick(surnames) + g.pick(givenChars)
	if g.chance(0.7) {
		name += g.pick(givenChars)
	}
	return name
}

// citizenID returns a valid 18-digit 公民身份号码 for a person born in
// county on birth (YYYYMMDD); gender 1 is male (odd sequence), 2 female.
func (g *gen) citizenID(county, birth string, gender int) string {
	seq := g.intn(500)*2 + 1
	if gender == 2 {
		seq--
	}
	first17 := county + birth + fmt.Sprintf("%03d", seq)
	c, err := standard.CitizenIDCheck(first17)
	if err != nil {
		panic(fmt.Sprintf("demo: citizen id %s: %v", first17, err))
	}
	return first17 + string(c)
}

// orgCode returns a 9-character organisation code (GB 11714) with its check
// character.
func (g *gen) orgCode() string {
	body := g.digits(8)
	weights := [8]int{3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i := range 8 {
		sum += int(body[i]-'0') * weights[i]
	}
	switch c := 11 - sum%11; c {
	case 10:
		return body + "X"
	case 11:
		return body + "0"
	default:
		return body + string(rune('0'+c))
	}
}

// uscc returns a valid 统一社会信用代码 with the given registration-authority
// and type characters (e.g. "11" for a government organ, "91" for a company).
func uscc(kind, division, org string) string {
	first17 := kind + division + org
	c, err := standard.USCCCheck(first17)
	if err != nil {
		panic(fmt.Sprintf("demo: uscc %s: %v", first17, err))
	}
	return first17 + string(c)
}

var mobilePrefixes = []string{"130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "155", "156", "157", "158", "159", "166", "173", "176", "177", "180", "181", "182", "185", "186", "187", "188", "189", "191", "198", "199"}

func (g *gen) mobile() string { return g.pick(mobilePrefixes) + g.digits(8) }

var streets = []string{"建设路", "人民路", "解放路", "中山路", "和平路", "胜利街", "新华路", "长江道", "友谊路", "光明街", "育才路", "振兴路", "迎宾大道", "朝阳路", "复兴路", "学府街"}

func (g *gen) address(province, county string) string {
	city := ""
	if d, ok := standard.LookupDivision(county); ok {
		if p, ok := standard.LookupDivision(d.Parent); ok && p.Code != province {
			city = p.Name
		}
		county = d.Name
	}
	prov := ""
	if d, ok := standard.LookupDivision(province); ok {
		prov = d.Name
	}
	return fmt.Sprintf("%s%s%s%s%d号", prov, city, county, g.pick(streets), g.between(1, 300))
}

// counties returns the county-level divisions of a province, in code order.
func counties(province string) []string {
	countiesMu.Lock()
	defer countiesMu.Unlock()
	if cs, ok := countiesCache[province]; ok {
		return cs
	}
	cs := listCounties(province)
	countiesCache[province] = cs
	return cs
}

var (
	countiesMu    sync.Mutex
	countiesCache = map[string][]string{}
)

func listCounties(province string) []string {
	var out []string
	for _, d := range standard.DivisionChildren(province) {
		if d.Level == "county" {
			out = append(out, d.Code)
			continue
		}
		for _, c := range standard.DivisionChildren(d.Code) {
			out = append(out, c.Code)
		}
	}
	return out
}

// plate returns a Chinese licence plate of the province abbreviation.
func (g *gen) plate(abbr string, authorities string) string {
	const letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	const alnum = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
	var b strings.Builder
	b.WriteString(abbr)
	b.WriteByte(authorities[g.intn(len(authorities))])
	for i := range 5 {
		if i < 2 && g.chance(0.3) {
			b.WriteByte(letters[g.intn(len(letters))])
		} else {
			b.WriteByte(alnum[g.intn(10)])
		}
	}
	return b.String()
}
