package demo

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// rowSource generates the rows of one demo resource on demand; it is a
// hutong.RowReader, so the demo's rows pass the same validation as any
// imported file.
type rowSource struct {
	n   int
	i   int
	row func(i int) map[string]string
}

func (s *rowSource) Next() (int, map[string]string, error) {
	if s.i >= s.n {
		return s.i + 1, nil, io.EOF
	}
	s.i++
	return s.i + 1, s.row(s.i - 1), nil // row 1 is the header a file would have
}

// rowsFunc returns the rows of a template for province p.
type rowsFunc func(p province, g *gen, o Options) *rowSource

// scaled returns n scaled by o.Scale, at least min.
func scaled(n int, o Options, atLeast int) int {
	return max(int(float64(n)*o.Scale), atLeast)
}

// The readings cover the 30 days from 1 October 2026, China Standard Time.
var (
	cst        = time.FixedZone("CST", 8*3600)
	seriesFrom = time.Date(2026, 10, 1, 0, 0, 0, 0, cst)
)

func seriesHours(o Options) int { return scaled(30*24, o, 48) }

func timestamp(hour int) string {
	return seriesFrom.Add(time.Duration(hour) * time.Hour).UTC().Format(time.RFC3339)
}

func f1(x float64) string { return strconv.FormatFloat(math.Round(x*10)/10, 'f', -1, 64) }
func f2(x float64) string { return strconv.FormatFloat(math.Round(x*100)/100, 'f', -1, 64) }

var (
	brandWords = []string{"华信", "恒达", "鼎盛", "瑞丰", "中科", "金石", "宏远", "新创", "博源", "润泽", "天宇", "海川", "盛世", "嘉禾", "正元", "永泰",
		"同创", "聚力", "安泰", "华夏", "京华", "冀东", "津港", "渤海", "燕山", "太行", "长城", "运河", "白洋", "滨海", "银河", "东方"}
	industries = []struct{ name, scope string }{
		{"科技", "技术开发、技术咨询、技术服务；软件开发；计算机系统服务"}, {"建材", "建筑材料、装饰材料销售；建筑工程施工"},
		{"物流", "普通货运；仓储服务；装卸搬运；国内货运代理"}, {"食品", "食品生产；食品销售；农副产品加工"},
		{"贸易", "货物进出口；技术进出口；日用百货销售"}, {"医药", "药品批发；医疗器械经营；保健食品销售"},
		{"机械", "通用设备制造；机械零部件加工；机械设备租赁"}, {"电子", "电子元器件制造；电子产品销售；集成电路设计"},
		{"环保", "污水处理及其再生利用；大气污染治理；固体废物治理"}, {"文化传媒", "组织文化艺术交流活动；广告设计、代理；会议及展览服务"},
		{"建筑工程", "房屋建筑和市政基础设施项目工程总承包；土石方工程施工"}, {"农业发展", "谷物种植；蔬菜种植；农业技术推广服务"},
		{"信息技术", "信息系统集成服务；数据处理和存储支持服务；互联网数据服务"}, {"新能源", "太阳能发电技术服务；风力发电技术服务；储能技术服务"},
	}
	enterpriseTypes = []string{"有限责任公司", "有限责任公司（自然人独资）", "股份有限公司", "个人独资企业", "合伙企业", "外商投资企业"}
)

// shortName drops the 市/省 of a division name: 石家庄市 → 石家庄.
func shortName(name string) string {
	return strings.TrimSuffix(strings.TrimSuffix(name, "市"), "省")
}

func (g *gen) date(fromYear, toYear int) string {
	start := time.Date(fromYear, 1, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(toYear, 10, 30, 0, 0, 0, 0, time.UTC)
	days := int(end.Sub(start).Hours() / 24)
	return start.AddDate(0, 0, g.intn(days+1)).Format(time.DateOnly)
}

func compact(date string) string { return strings.ReplaceAll(date, "-", "") }

func (g *gen) bankCard() string {
	body := "6222" + g.digits(11)
	// Luhn check digit over body.
	sum := 0
	for i := len(body) - 1; i >= 0; i-- {
		d := int(body[i] - '0')
		if (len(body)-1-i)%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return body + strconv.Itoa((10-sum%10)%10)
}

// cityOf returns the demo city that contains a county code.
func cityOf(p province, county string) city {
	for _, c := range p.cities {
		if c.code == p.code || county[:4] == c.code[:4] {
			return c
		}
	}
	return p.cities[0]
}

func enterpriseRows(p province, g *gen, o Options) *rowSource {
	cs := counties(p.code)
	return &rowSource{n: scaled(8000, o, 50), row: func(i int) map[string]string {
		county := g.pick(cs)
		ind := industries[g.intn(len(industries))]
		capital := math.Exp(g.normal(6, 1.6)) // 万元, lognormal around 400
		status := "存续"
		switch x := g.float(); {
		case x > 0.97:
			status = "吊销"
		case x > 0.90:
			status = "注销"
		case x > 0.85:
			status = "在业"
		}
		return map[string]string{
			"统一社会信用代码": uscc("91", county, g.orgCode()),
			"企业名称":     fmt.Sprintf("%s%s%s%s有限公司", shortName(cityOf(p, county).name), g.pick(brandWords), g.pick(brandWords), ind.name),
			"法定代表人":    g.personName(),
			"企业类型":     g.pick(enterpriseTypes),
			"注册资本（万元）": f2(min(capital, 5e6)),
			"成立日期":     g.date(1995, 2026),
			"住所":       g.address(p.code, county),
			"登记机关":     county,
			"经营范围":     ind.scope,
			"登记状态":     status,
		}
	}}
}

// person is a generated resident of a province.
type person struct {
	name, id, gender, birth, county string
}

func (g *gen) person(p province, cs []string) person {
	county := g.pick(cs)
	if g.chance(0.1) { // born elsewhere in the region
		other := provinces[g.intn(len(provinces))]
		county = g.pick(counties(other.code))
	}
	gender := 1 + g.intn(2)
	birth := g.date(1940, 2020)
	return person{name: g.personName(), id: g.citizenID(county, compact(birth), gender), gender: strconv.Itoa(gender), birth: birth, county: county}
}

func insuredRows(p province, g *gen, o Options) *rowSource {
	cs := counties(p.code)
	return &rowSource{n: scaled(10000, o, 100), row: func(i int) map[string]string {
		who := g.person(p, cs)
		kind, status := "城乡居民基本医疗保险", "参保缴费"
		if g.chance(0.6) {
			kind = "职工基本医疗保险"
		}
		switch x := g.float(); {
		case x > 0.97:
			status = "终止参保"
		case x > 0.90:
			status = "暂停缴费"
		}
		born, _ := time.Parse(time.DateOnly, who.birth)
		from := max(born.Year()+16, 1998)
		if kind == "城乡居民基本医疗保险" {
			from = max(born.Year(), 2003)
		}
		mobile := ""
		if g.chance(0.9) {
			mobile = g.mobile()
		}
		return map[string]string{
			"姓名": who.name, "公民身份号码": who.id, "性别": who.gender, "出生日期": who.birth,
			"手机号码": mobile, "险种": kind, "参保状态": status, "参保地": g.pick(cs),
			"参保日期": g.date(min(from, 2025), 2026), "社会保障卡银行账号": g.bankCard(),
		}
	}}
}

var hospitalKinds = []string{"人民医院", "中医医院", "妇幼保健院", "中心医院", "第一医院", "第二医院", "骨科医院", "眼科医院", "口腔医院", "社区卫生服务中心"}
var hospitalGrades = []string{"三级甲等", "三级乙等", "二级甲等", "二级乙等", "一级", "未定级"}

func hospitalRows(p province, g *gen, o Options) *rowSource {
	cs := counties(p.code)
	return &rowSource{n: scaled(200, o, 20), row: func(i int) map[string]string {
		county := g.pick(cs)
		c := cityOf(p, county)
		digits := 8
		if len(c.areaCode) == 4 && g.chance(0.3) {
			digits = 7
		}
		return map[string]string{
			"机构名称":     fmt.Sprintf("%s%s%s（%03d）", shortName(c.name), g.pick(brandWords), g.pick(hospitalKinds), i+1),
			"统一社会信用代码": uscc("12", county, g.orgCode()),
			"地址":       g.address(p.code, county),
			"所在地区":     county,
			"联系电话":     c.areaCode + "-" + strconv.Itoa(g.between(2, 8)) + g.digits(digits-1),
			"医院等级":     g.pick(hospitalGrades),
		}
	}}
}

// weather is the region's shared daily dispersion factor: the same
// stagnant days raise pollution everywhere, which is what makes the
// cross-region comparison interesting.
func weather(seed uint64, days int) []float64 {
	g := newGen(seed, 99)
	w := make([]float64, days)
	x := 0.0
	for d := range w {
		x = 0.7*x + 0.45*g.r.NormFloat64()
		w[d] = math.Exp(x)
	}
	return w
}

// stationBase is the number of the first station of p: stations are
// numbered 1001A, 1002A, … across the provinces in order.
func stationBase(p province) int {
	n := 1001
	for _, q := range provinces {
		if q.code == p.code {
			break
		}
		for _, c := range q.cities {
			n += c.stations
		}
	}
	return n
}

// iaqi breakpoints of HJ 633-2012: concentration limits per index level.
var iaqiLevels = []float64{0, 50, 100, 150, 200, 300, 400, 500}

var breakpoints = map[string][]float64{
	"PM2.5": {0, 35, 75, 115, 150, 250, 350, 500},
	"PM10":  {0, 50, 150, 250, 350, 420, 500, 600},
	"SO2":   {0, 150, 500, 650, 800, 1600, 2100, 2620},
	"NO2":   {0, 100, 200, 700, 1200, 2340, 3090, 3840},
	"CO":    {0, 5, 10, 35, 60, 90, 120, 150},
	"O3":    {0, 160, 200, 300, 400, 800, 1000, 1200},
}

// iaqi returns the individual air quality index of concentration c.
func iaqi(pollutant string, c float64) float64 {
	bp := breakpoints[pollutant]
	for i := 1; i < len(bp); i++ {
		if c <= bp[i] {
			return (iaqiLevels[i]-iaqiLevels[i-1])/(bp[i]-bp[i-1])*(c-bp[i-1]) + iaqiLevels[i-1]
		}
	}
	return 500
}

func airRows(p province, g *gen, o Options) *rowSource {
	hours := seriesHours(o)
	w := weather(o.Seed, hours/24+1)
	type station struct {
		code string
		city city
	}
	var stations []station
	n := stationBase(p)
	for _, c := range p.cities {
		for range c.stations {
			stations = append(stations, station{code: fmt.Sprintf("%dA", n), city: c})
			n++
		}
	}
	return &rowSource{n: len(stations) * hours, row: func(i int) map[string]string {
		st, h := stations[i/hours], i%hours
		hourOfDay := float64(h % 24)
		diurnal := 1 + 0.25*math.Cos(2*math.Pi*(hourOfDay-2)/24)
		pm25 := math.Max(2, st.city.pm25*w[h/24]*diurnal*math.Exp(g.normal(0, 0.15)))
		pm10 := pm25*1.6 + math.Abs(g.normal(10, 6))
		so2 := math.Max(2, g.normal(8, 3)*w[h/24])
		no2 := math.Max(5, (25+20*math.Exp(-math.Pow(hourOfDay-8, 2)/6)+20*math.Exp(-math.Pow(hourOfDay-19, 2)/6))*math.Sqrt(w[h/24])+g.normal(0, 5))
		o3 := math.Max(2, 20+90*math.Exp(-math.Pow(hourOfDay-15, 2)/10)/math.Sqrt(w[h/24])+g.normal(0, 8))
		co := math.Max(0.1, 0.4+0.5*w[h/24]*diurnal/1.25+g.normal(0, 0.08))
		levels := map[string]float64{"PM2.5": iaqi("PM2.5", pm25), "PM10": iaqi("PM10", pm10), "SO2": iaqi("SO2", so2),
			"NO2": iaqi("NO2", no2), "CO": iaqi("CO", co), "O3": iaqi("O3", o3)}
		aqi, primary := 0.0, ""
		for _, name := range []string{"PM2.5", "PM10", "O3", "NO2", "SO2", "CO"} {
			if levels[name] > aqi {
				aqi, primary = levels[name], name
			}
		}
		aqi = math.Ceil(aqi)
		if aqi <= 50 {
			primary = "" // HJ 633: no primary pollutant on a good day
		}
		return map[string]string{
			"监测站点编码": st.code, "所在城市": st.city.code, "监测时间": timestamp(h),
			"AQI": strconv.Itoa(int(aqi)), "PM2.5": f1(pm25), "PM10": f1(pm10), "SO2": f1(so2),
			"NO2": f1(no2), "O3": f1(o3), "CO": f2(co), "首要污染物": primary,
		}
	}}
}

func trafficRows(p province, g *gen, o Options) *rowSource {
	hours := seriesHours(o)
	rs := roads[p.code]
	return &rowSource{n: len(rs) * hours, row: func(i int) map[string]string {
		rd, h := rs[i/hours], i%hours
		t := seriesFrom.Add(time.Duration(h) * time.Hour)
		hourOfDay := float64(t.Hour())
		profile := 0.15 + 0.55*math.Exp(-math.Pow(hourOfDay-8, 2)/4) + 0.6*math.Exp(-math.Pow(hourOfDay-18, 2)/5) + 0.35*math.Exp(-math.Pow(hourOfDay-13, 2)/12)
		day := 1.0
		switch {
		case t.Day() <= 7: // 国庆 holiday: toll-free expressways fill up
			day = 1.35
		case t.Weekday() == time.Saturday || t.Weekday() == time.Sunday:
			day = 0.85
		}
		count := math.Max(0, float64(rd.capacity)*profile*day*math.Exp(g.normal(0, 0.12)))
		load := math.Min(count/float64(rd.capacity), 1.2)
		speed := math.Max(8, rd.freeSpeed*(1-0.55*load*load)+g.normal(0, 3))
		return map[string]string{
			"道路编码": rd.code, "路段名称": rd.segment, "所在地区": rd.city, "统计时间": timestamp(h),
			"车流量": strconv.Itoa(int(count)), "平均车速": f1(speed),
		}
	}}
}

// statsYears are the years of the statistical series.
const firstYear, lastYear = 2005, 2024

// statsAreas returns the areas with yearly statistics: the province itself
// and, for Hebei, its cities.
func statsAreas(p province) []city {
	if len(p.cities) == 1 {
		return p.cities
	}
	total := city{code: p.code, name: p.name}
	for _, c := range p.cities {
		total.gdp += c.gdp
		total.pop += c.pop
		total.growth += c.growth * c.gdp
	}
	total.growth /= total.gdp
	return append([]city{total}, p.cities...)
}

// gdpSeries back-casts yearly GDP from the last year's figure with real
// growth and inflation, with the 2020 dip.
func gdpSeries(c city, g *gen) (gdp, growth []float64) {
	n := lastYear - firstYear + 1
	gdp, growth = make([]float64, n), make([]float64, n)
	gdp[n-1] = c.gdp
	for i := n - 1; i >= 0; i-- {
		year := firstYear + i
		real := c.growth + 0.04*math.Max(0, float64(2012-year))/7 + g.normal(0, 0.006)
		if year == 2020 {
			real = 0.02 + g.normal(0, 0.005)
		}
		if year >= 2022 {
			real -= 0.01
		}
		growth[i] = real
		if i > 0 {
			gdp[i-1] = gdp[i] / (1 + real + 0.025)
		}
	}
	return gdp, growth
}

func gdpRows(p province, g *gen, o Options) *rowSource {
	areas := statsAreas(p)
	years := lastYear - firstYear + 1
	series := make([][2][]float64, len(areas))
	for i, a := range areas {
		gdp, growth := gdpSeries(a, g)
		series[i] = [2][]float64{gdp, growth}
	}
	return &rowSource{n: len(areas) * years, row: func(i int) map[string]string {
		a, y := i/years, i%years
		return map[string]string{"行政区划代码": areas[a].code, "年份": strconv.Itoa(firstYear + y),
			"地区生产总值（亿元）": f2(series[a][0][y]), "实际增长率": f1(series[a][1][y] * 100)}
	}}
}

// urbanisation is the last year's urbanisation rate in percent.
var urbanisation = map[string]float64{"110000": 87.8, "120000": 85.5}

func populationRows(p province, g *gen, o Options) *rowSource {
	areas := statsAreas(p)
	years := lastYear - firstYear + 1
	return &rowSource{n: len(areas) * years, row: func(i int) map[string]string {
		a, y := areas[i/years], i%years
		back := float64(lastYear - firstYear - y)
		pop := a.pop / math.Pow(1.006, back)
		if a.code == "110000" && firstYear+y >= 2016 { // Beijing's population peaked in 2016
			pop = a.pop * (1 + 0.002*float64(lastYear-firstYear-y))
		}
		urban := urbanisation[a.code]
		if urban == 0 {
			urban = 62.8 + 0.3*float64(len(a.code)%3) // Hebei and its cities
		}
		urban -= back * 1.2 * (100 - urban) / 40
		return map[string]string{"行政区划代码": a.code, "年份": strconv.Itoa(firstYear + y),
			"常住人口（万人）": f2(pop + g.normal(0, a.pop*0.002)), "城镇化率": f1(urban)}
	}}
}

var polluterKinds = []struct{ suffix, industry string }{
	{"热电有限公司", "火力发电"}, {"钢铁有限公司", "炼钢"}, {"化工有限公司", "基础化学原料制造"},
	{"水泥有限公司", "水泥制造"}, {"污水处理有限公司", "污水处理及其再生利用"}, {"焦化有限公司", "炼焦"},
	{"玻璃有限公司", "平板玻璃制造"}, {"制药有限公司", "化学药品原料药制造"},
}

func polluterRows(p province, g *gen, o Options) *rowSource {
	cs := counties(p.code)
	return &rowSource{n: scaled(150, o, 10), row: func(i int) map[string]string {
		county := g.pick(cs)
		k := polluterKinds[g.intn(len(polluterKinds))]
		code := uscc("91", county, g.orgCode())
		return map[string]string{
			"单位名称":     fmt.Sprintf("%s%s%s", shortName(cityOf(p, county).name), g.pick(brandWords), k.suffix),
			"统一社会信用代码": code, "所在地区": county, "行业类别": k.industry,
			"排污许可证编号": fmt.Sprintf("%s%03d%c", code, g.between(1, 3), "PQUV"[g.intn(4)]),
		}
	}}
}

func residentRows(p province, g *gen, o Options) *rowSource {
	cs := counties(p.code)
	return &rowSource{n: scaled(5000, o, 50), row: func(i int) map[string]string {
		who := g.person(p, cs)
		home := g.pick(cs)
		return map[string]string{"姓名": who.name, "公民身份号码": who.id, "性别": who.gender, "出生日期": who.birth,
			"户籍地址": g.address(p.code, home), "户籍所在地": home}
	}}
}

var vehicleTypes = []string{"小型普通客车", "小型普通客车", "小型普通客车", "小型轿车", "轻型厢式货车", "重型半挂牵引车", "大型普通客车", "中型普通客车"}

func vehicleRows(p province, g *gen, o Options) *rowSource {
	cs := counties(p.code)
	return &rowSource{n: scaled(3000, o, 30), row: func(i int) map[string]string {
		who := g.person(p, cs)
		return map[string]string{"号牌号码": g.plate(p.abbr, p.plates), "所有人": who.name, "所有人身份证号": who.id,
			"车辆类型": g.pick(vehicleTypes), "注册登记日期": g.date(2005, 2026), "所在地区": g.pick(cs)}
	}}
}

var crossProvinceServices = []string{"异地就医登记备案", "基本养老保险关系转移接续", "基本医疗保险关系转移接续", "户口迁移", "营业执照变更登记",
	"机动车驾驶证补领换领", "住房公积金异地转移接续", "社会保障卡申领", "内地居民婚姻登记", "无犯罪记录证明开具", "职业资格证书核验",
	"工伤认定申请", "失业登记", "生育登记", "普通护照签发", "个体工商户设立登记", "食品经营许可证核发", "道路运输经营许可证核发",
	"残疾人证迁移", "学历公证"}

var handlingWays = []string{"全程网办", "异地代收代办", "多地联办"}

func serviceRows(p province, g *gen, o Options) *rowSource {
	return &rowSource{n: scaled(120, o, 20), row: func(i int) map[string]string {
		name := crossProvinceServices[i%len(crossProvinceServices)]
		c := p.cities[g.intn(len(p.cities))]
		return map[string]string{"事项编码": fmt.Sprintf("%s-KS-%04d", p.short, i+1), "事项名称": name,
			"实施主体": p.name + "政务服务中心", "办理地区": c.code, "办理方式": handlingWays[g.intn(len(handlingWays))]}
	}}
}
