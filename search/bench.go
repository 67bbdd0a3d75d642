package search

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"time"
)

// The vocabulary of the generated catalog: the divisions of 京津冀, the kinds
// of departments they run and the resources each kind publishes.

type genRegion struct {
	code, name, nameEn string
	// municipal is true for Beijing and Tianjin and their districts, whose
	// departments are 局 and 委员会 rather than a province's 厅.
	municipal bool
	short     string
}

var genRegions = []genRegion{
	{"110000", "北京市", "Beijing", true, "BJ"},
	{"110101", "北京市东城区", "Beijing Dongcheng", true, "BJDC"},
	{"110102", "北京市西城区", "Beijing Xicheng", true, "BJXC"},
	{"110105", "北京市朝阳区", "Beijing Chaoyang", true, "BJCY"},
	{"110108", "北京市海淀区", "Beijing Haidian", true, "BJHD"},
	{"110112", "北京市通州区", "Beijing Tongzhou", true, "BJTZ"},
	{"120000", "天津市", "Tianjin", true, "TJ"},
	{"120101", "天津市和平区", "Tianjin Heping", true, "TJHP"},
	{"120104", "天津市南开区", "Tianjin Nankai", true, "TJNK"},
	{"120114", "天津市武清区", "Tianjin Wuqing", true, "TJWQ"},
	{"120116", "天津市滨海新区", "Tianjin Binhai", true, "TJBH"},
	{"130000", "河北省", "Hebei", false, "HE"},
	{"130100", "石家庄市", "Shijiazhuang", true, "SJZ"},
	{"130102", "石家庄市长安区", "Shijiazhuang Chang'an", true, "SJZCA"},
	{"130200", "唐山市", "Tangshan", true, "TS"},
	{"130300", "秦皇岛市", "Qinhuangdao", true, "QHD"},
	{"130400", "邯郸市", "Handan", true, "HD"},
	{"130600", "保定市", "Baoding", true, "BD"},
	{"130629", "保定市容城县", "Rongcheng County", true, "BDRC"},
	{"130632", "保定市安新县", "Anxin County", true, "BDAX"},
	{"130638", "保定市雄县", "Xiong County", true, "BDXX"},
	{"130700", "张家口市", "Zhangjiakou", true, "ZJK"},
	{"130800", "承德市", "Chengde", true, "CD"},
	{"130900", "沧州市", "Cangzhou", true, "CZ"},
	{"131000", "廊坊市", "Langfang", true, "LF"},
	{"131100", "衡水市", "Hengshui", true, "HS"},
}

type genResource struct {
	name, nameEn string
	items        []string
	tags         []string
}

type genDepartment struct {
	// provincial and municipal are the department's name in a province and
	// in a municipality, city or district.
	provincial, municipal, nameEn, short string
	tags                                 []string
	resources                            []genResource
}

var genDepartments = []genDepartment{
	{"医疗保障局", "医疗保障局", "Healthcare Security Administration", "YB", []string{"医保", "社会保障"}, []genResource{
		{"参保人员信息", "Insured Persons", []string{"姓名", "公民身份号码", "参保类型", "参保日期", "缴费基数", "参保状态"}, []string{"医保", "民生"}},
		{"医保定点医药机构信息", "Designated Medical Institutions", []string{"机构名称", "统一社会信用代码", "机构等级", "地址", "联系电话"}, []string{"医保", "医疗"}},
		{"医保结算明细", "Medical Insurance Settlements", []string{"结算单号", "公民身份号码", "就诊机构", "结算日期", "统筹支付金额", "个人支付金额"}, []string{"医保", "跨省通办"}},
		{"异地就医备案信息", "Cross-region Medical Treatment Filings", []string{"姓名", "公民身份号码", "参保地", "就医地", "备案日期"}, []string{"医保", "跨省通办"}},
	}},
	{"生态环境厅", "生态环境局", "Ecology and Environment", "HB", []string{"生态环境"}, []genResource{
		{"空气质量小时数据", "Hourly Air Quality Readings", []string{"监测站点", "监测时间", "PM2.5浓度", "PM10浓度", "二氧化硫浓度", "臭氧浓度", "空气质量指数"}, []string{"空气质量", "环境监测"}},
		{"空气质量日报", "Daily Air Quality Reports", []string{"城市", "日期", "空气质量指数", "首要污染物", "空气质量级别"}, []string{"空气质量", "环境监测"}},
		{"水质自动监测数据", "Automatic Water Quality Monitoring", []string{"断面名称", "监测时间", "水温", "pH值", "溶解氧", "氨氮", "总磷"}, []string{"水环境", "环境监测"}},
		{"排污许可证信息", "Pollutant Discharge Permits", []string{"单位名称", "统一社会信用代码", "许可证编号", "有效期限", "行业类别"}, []string{"排污许可", "信用"}},
		{"环境行政处罚信息", "Environmental Administrative Penalties", []string{"当事人名称", "统一社会信用代码", "处罚决定书文号", "处罚金额", "处罚日期"}, []string{"行政处罚", "信用"}},
	}},
	{"市场监督管理局", "市场监督管理局", "Market Regulation", "SJ", []string{"市场监管"}, []genResource{
		{"企业登记信息", "Enterprise Registrations", []string{"统一社会信用代码", "企业名称", "法定代表人", "注册资本", "成立日期", "登记机关", "住所"}, []string{"企业", "信用", "跨省通办"}},
		{"个体工商户登记信息", "Individual Business Registrations", []string{"统一社会信用代码", "字号名称", "经营者姓名", "经营场所", "登记日期"}, []string{"企业", "民生"}},
		{"食品经营许可信息", "Food Business Licences", []string{"许可证编号", "经营者名称", "经营项目", "有效期至"}, []string{"食品安全", "行政许可"}},
		{"市场监管行政处罚信息", "Market Regulation Penalties", []string{"当事人名称", "统一社会信用代码", "违法行为类型", "处罚金额", "处罚日期"}, []string{"行政处罚", "信用"}},
	}},
	{"交通运输厅", "交通运输局", "Transport", "JT", []string{"交通"}, []genResource{
		{"交通流量", "Traffic Flow", []string{"路段编号", "监测时间", "车流量", "平均车速", "拥堵指数"}, []string{"交通", "物联网"}},
		{"道路运输经营许可信息", "Road Transport Operating Licences", []string{"经营者名称", "统一社会信用代码", "许可证号", "经营范围", "有效期至"}, []string{"交通", "行政许可"}},
		{"营运车辆信息", "Commercial Vehicles", []string{"车牌号", "车辆类型", "核定载客", "道路运输证号", "年审日期"}, []string{"交通", "车辆"}},
		{"公交线路信息", "Bus Routes", []string{"线路名称", "首末站", "运营时间", "票价", "站点数"}, []string{"交通", "民生"}},
	}},
	{"统计局", "统计局", "Statistics", "TJJ", []string{"统计"}, []genResource{
		{"地区生产总值", "Gross Regional Product", []string{"行政区划代码", "统计年度", "地区生产总值", "第一产业增加值", "第二产业增加值", "第三产业增加值"}, []string{"经济", "统计"}},
		{"常住人口数据", "Resident Population", []string{"行政区划代码", "统计年度", "常住人口", "城镇人口", "出生率", "死亡率"}, []string{"人口", "统计"}},
		{"居民消费价格指数", "Consumer Price Index", []string{"统计月份", "类别", "同比", "环比"}, []string{"经济", "价格"}},
	}},
	{"人力资源和社会保障厅", "人力资源和社会保障局", "Human Resources and Social Security", "RS", []string{"社会保障", "就业"}, []genResource{
		{"社会保险参保信息", "Social Insurance Enrolment", []string{"姓名", "公民身份号码", "险种", "参保单位", "缴费月数"}, []string{"社会保障", "民生"}},
		{"就业登记信息", "Employment Registrations", []string{"姓名", "公民身份号码", "用人单位", "就业日期", "岗位"}, []string{"就业", "民生"}},
		{"职业资格证书信息", "Vocational Qualification Certificates", []string{"姓名", "证书编号", "职业名称", "等级", "发证日期"}, []string{"就业", "证照"}},
	}},
	{"公安厅", "公安局", "Public Security", "GA", []string{"公安"}, []genResource{
		{"户籍人口信息", "Registered Residents", []string{"姓名", "公民身份号码", "户籍地址", "户主关系", "出生日期"}, []string{"人口", "户籍"}},
		{"机动车登记信息", "Motor Vehicle Registrations", []string{"车牌号", "车辆品牌", "所有人", "登记日期", "使用性质"}, []string{"车辆", "交通"}},
		{"居民身份证信息", "Resident Identity Cards", []string{"姓名", "公民身份号码", "签发机关", "有效期限"}, []string{"证照", "人口"}},
	}},
	{"卫生健康委员会", "卫生健康委员会", "Health Commission", "WJ", []string{"卫生健康"}, []genResource{
		{"医疗机构执业信息", "Medical Institution Licences", []string{"机构名称", "登记号", "诊疗科目", "床位数", "地址"}, []string{"医疗", "行政许可"}},
		{"出生医学证明信息", "Birth Certificates", []string{"新生儿姓名", "出生日期", "出生地点", "母亲姓名", "证明编号"}, []string{"人口", "证照"}},
		{"预防接种信息", "Vaccination Records", []string{"受种者姓名", "公民身份号码", "疫苗名称", "接种日期", "接种单位"}, []string{"医疗", "民生"}},
	}},
	{"民政厅", "民政局", "Civil Affairs", "MZ", []string{"民政"}, []genResource{
		{"婚姻登记信息", "Marriage Registrations", []string{"男方姓名", "女方姓名", "登记日期", "登记机关", "结婚证字号"}, []string{"婚姻", "证照"}},
		{"社会组织登记信息", "Social Organisation Registrations", []string{"统一社会信用代码", "组织名称", "业务主管单位", "成立日期"}, []string{"社会组织", "信用"}},
		{"最低生活保障对象信息", "Minimum Living Allowance Recipients", []string{"姓名", "公民身份号码", "家庭人口", "保障金额", "救助日期"}, []string{"社会救助", "民生"}},
	}},
	{"住房和城乡建设厅", "住房和城乡建设局", "Housing and Urban-Rural Development", "ZJ", []string{"住房"}, []genResource{
		{"商品房预售许可信息", "Pre-sale Permits", []string{"项目名称", "开发企业", "预售许可证号", "预售面积", "发证日期"}, []string{"住房", "行政许可"}},
		{"建筑业企业资质信息", "Construction Enterprise Qualifications", []string{"企业名称", "统一社会信用代码", "资质类别", "资质等级", "有效期至"}, []string{"企业", "资质"}},
		{"住房公积金缴存信息", "Housing Provident Fund Contributions", []string{"姓名", "公民身份号码", "缴存单位", "月缴存额", "账户状态"}, []string{"住房", "民生"}},
	}},
	{"自然资源厅", "规划和自然资源局", "Natural Resources", "ZR", []string{"自然资源"}, []genResource{
		{"不动产登记信息", "Real Estate Registrations", []string{"不动产单元号", "权利人", "坐落", "面积", "登记日期"}, []string{"不动产", "住房"}},
		{"国有建设用地使用权出让信息", "Land Use Right Grants", []string{"地块编号", "受让人", "出让面积", "成交价款", "签订日期"}, []string{"土地", "经济"}},
	}},
	{"教育厅", "教育局", "Education", "JY", []string{"教育"}, []genResource{
		{"中小学学籍信息", "Primary and Secondary Student Records", []string{"学生姓名", "公民身份号码", "学校名称", "年级", "入学日期"}, []string{"教育", "民生"}},
		{"学校基本信息", "Schools", []string{"学校名称", "学校标识码", "办学类型", "地址", "在校生数"}, []string{"教育"}},
	}},
}

var (
	genQualifiers = []struct{ zh, en string }{
		{"", ""}, {"", ""}, {"", ""}, {"（汇总）", "(Summary)"}, {"（明细）", "(Details)"},
		{"月度统计", "Monthly Statistics"}, {"年度统计", "Yearly Statistics"},
		{"（2022年）", "(2022)"}, {"（2023年）", "(2023)"}, {"（2024年）", "(2024)"},
		{"共享库", "Shared Store"}, {"接口", "API"},
	}
	genCycles   = []string{"实时", "每小时", "每日", "每周", "每月", "每季度", "每年"}
	genPurposes = []string{
		"跨省通办", "京津冀协同发展", "政务服务一网通办", "联防联控", "信用联合奖惩",
		"统计分析与决策", "异地就医直接结算", "企业开办", "社会治理", "应急管理",
	}
	genExtraItems = []string{"数据更新时间", "行政区划代码", "备注", "数据来源", "记录编号", "状态"}
	genExtraTags  = []string{"京津冀", "开放数据", "基础库", "主题库", "高频", "物联网"}
)

// GenerateDocs returns n catalog documents of the 京津冀 hub, the same for
// the same seed: the resources that the departments of Beijing, Tianjin,
// Hebei and their cities and districts publish, with Chinese and English
// names, summaries, items and tags. Codes are unique and look like
// "TJYB-00042". Benchmarks and tests use it; it is not sample data for the
// demo.
func GenerateDocs(n int, seed uint64) []Doc {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	serial := map[string]int{}
	docs := make([]Doc, 0, n)
	for range n {
		reg := genRegions[rng.IntN(len(genRegions))]
		dep := genDepartments[rng.IntN(len(genDepartments))]
		res := dep.resources[rng.IntN(len(dep.resources))]
		q := genQualifiers[rng.IntN(len(genQualifiers))]

		depName := dep.municipal
		if !reg.municipal {
			depName = dep.provincial
		}
		providerName := reg.name + depName
		short := reg.short + dep.short
		serial[short]++
		code := fmt.Sprintf("%s-%05d", short, serial[short])

		items := append([]string(nil), res.items...)
		for _, it := range genExtraItems {
			if rng.IntN(4) == 0 {
				items = append(items, it)
			}
		}
		tags := append(append([]string(nil), res.tags...), dep.tags...)
		if rng.IntN(2) == 0 {
			tags = append(tags, genExtraTags[rng.IntN(len(genExtraTags))])
		}
		tags = dedupe(tags)

		name := reg.name + res.name + q.zh
		nameEn := strings.TrimSpace(reg.nameEn + " " + res.nameEn + " " + q.en)
		cycle, purpose := genCycles[rng.IntN(len(genCycles))], genPurposes[rng.IntN(len(genPurposes))]
		var summary string
		switch rng.IntN(4) {
		case 0:
			summary = fmt.Sprintf("%s汇聚的%s%s，包括%s、%s等信息项，%s更新，用于%s。",
				providerName, reg.name, res.name, items[0], items[1], cycle, purpose)
		case 1:
			summary = fmt.Sprintf("记录%s范围内的%s，主要字段有%s、%s和%s。数据%s更新，支撑%s等场景。",
				reg.name, res.name, items[0], items[1], items[2], cycle, purpose)
		case 2:
			summary = fmt.Sprintf("本资源由%s提供，覆盖%d年以来的%s，可用于%s。",
				providerName, 2010+rng.IntN(15), res.name, purpose)
		default:
			summary = fmt.Sprintf("%s%s（%s），%s同步至京津冀数据共享交换平台，涉及%s等%d个信息项。",
				reg.name, res.name, res.nameEn, cycle, items[rng.IntN(len(items))], len(items))
		}

		docs = append(docs, Doc{
			Code:         code,
			Name:         name,
			NameEn:       nameEn,
			Summary:      summary,
			Provider:     genUSCC(reg.code, dep.short),
			ProviderName: providerName,
			Region:       reg.code,
			ShareType:    []string{"unconditional", "conditional", "conditional", "none"}[rng.IntN(4)],
			Level:        1 + rng.IntN(4),
			Tags:         tags,
			Items:        items,
		})
	}
	return docs
}

func dedupe(ss []string) []string {
	out := ss[:0]
	for _, s := range ss {
		seen := false
		for _, t := range out {
			if t == s {
				seen = true
				break
			}
		}
		if !seen {
			out = append(out, s)
		}
	}
	return out
}

// genUSCC returns a well-formed 统一社会信用代码 (GB 32100) for a government
// department: registration authority 1 (机构编制), kind 1 (机关), the division
// code, an organisation code derived from the department's mnemonic, and the
// check digit.
func genUSCC(region, short string) string {
	var h uint32 = 2166136261
	for i := 0; i < len(short); i++ {
		h = (h ^ uint32(short[i])) * 16777619
	}
	body := []byte("11" + region)
	for i := 0; i < 9; i++ {
		body = append(body, '0'+byte(h%10))
		h /= 10
		if h == 0 {
			h = 2166136261 + uint32(i)
		}
	}
	return string(append(body, usccCheck(body)))
}

// usccCheck returns the check character of the first 17 characters of a
// 统一社会信用代码 (GB 32100-2015, 5.3).
func usccCheck(body []byte) byte {
	const chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	weights := [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}
	sum := 0
	for i, c := range body[:17] {
		sum += strings.IndexByte(chars, c) * weights[i]
	}
	return chars[(31-sum%31)%31]
}

// BenchReport is the outcome of Bench: how long indexing took, the latency
// of the searches in milliseconds, and the heap the index holds.
type BenchReport struct {
	Docs         int     `json:"docs"`
	IndexSeconds float64 `json:"index_seconds"`
	Queries      int     `json:"queries"`
	P50Ms        float64 `json:"p50_ms"`
	P99Ms        float64 `json:"p99_ms"`
	MaxMs        float64 `json:"max_ms"`
	HeapMB       float64 `json:"heap_mb"`
}

// Bench indexes docs generated documents (GenerateDocs with seed) with
// PutAll, then runs queries searches one after another and reports their
// latency. The searches mix one-rune, two-rune and long Chinese terms,
// English terms, several terms at once, listings with and without filters,
// and pages deep behind a cursor. HeapMB is the live heap the index adds,
// measured after a garbage collection. The same arguments run the same
// searches; the times are the machine's.
func Bench(docs, queries int, seed uint64) BenchReport {
	ds := GenerateDocs(docs, seed)
	qs := benchQueries(ds, queries, seed)

	runtime.GC()
	runtime.GC() // a second time to empty the sync.Pools of earlier runs
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	ix := New()
	ix.PutAll(ds)
	rep := BenchReport{Docs: ix.Len(), IndexSeconds: time.Since(start).Seconds()}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(ds)
	rep.HeapMB = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / (1 << 20)

	// A walk of pages may end early; the searches then start over.
	lat := make([]time.Duration, 0, queries)
	for i := 0; len(lat) < queries && len(qs) > 0; i++ {
		q := qs[i%len(qs)].Query
		for range qs[i%len(qs)].pages {
			if len(lat) == queries {
				break
			}
			t := time.Now()
			res, err := ix.Search(q)
			lat = append(lat, time.Since(t))
			if err != nil || res.NextCursor == "" {
				break
			}
			q.Cursor = res.NextCursor
		}
	}
	runtime.KeepAlive(ix)
	rep.Queries = len(lat)
	if len(lat) > 0 {
		slices.Sort(lat)
		ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
		rep.P50Ms = ms(lat[(len(lat)-1)/2])
		rep.P99Ms = ms(lat[(len(lat)*99+99)/100-1])
		rep.MaxMs = ms(lat[len(lat)-1])
	}
	return rep
}

// benchQuery is a search of the benchmark and how many pages of it to
// read, following the cursors.
type benchQuery struct {
	Query
	pages int
}

// benchQueries returns searches over docs, the same for the same seed, in
// the mix that Bench describes, enough for n pages.
func benchQueries(docs []Doc, n int, seed uint64) []benchQuery {
	if len(docs) == 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(seed^0x5851f42d4c957f2d, seed))
	pick := func(ss []string) string { return ss[rng.IntN(len(ss))] }
	two := []string{"医保", "空气", "企业", "交通", "人口", "登记", "许可", "天津", "河北", "信息", "处罚", "监测", "住房", "车辆"}
	long := []string{"参保人员信息", "空气质量小时数据", "企业登记信息", "地区生产总值", "交通流量", "不动产登记", "异地就医备案", "天津市参保人员", "河北省生态环境厅", "统一社会信用代码"}
	english := []string{"air quality", "Enterprise Registrations", "traffic flow", "tianjin insured", "registrations", "HEBEI", "ｐｅｒｍｉｔｓ", "hourly readings"}
	multi := []string{"天津 医保", "河北 空气质量", "北京市　企业", "石家庄 交通 流量", "insured 天津", "保定 登记 信息"}
	regions := []string{"110000", "120000", "130000", "130100", "130600", "120116", "110108"}
	shareTypes := []string{"unconditional", "conditional", "none"}

	var qs []benchQuery
	for pages := 0; pages < n; {
		d := &docs[rng.IntN(len(docs))]
		q := benchQuery{Query: Query{Limit: 20}, pages: 1}
		switch k := rng.IntN(10); k {
		case 0: // one rune of a name
			rs := []rune(d.Name)
			q.Text = string(rs[rng.IntN(len(rs))])
		case 1:
			q.Text = pick(two)
		case 2:
			q.Text = pick(long)
		case 3: // a substring of the document's own text
			rs := []rune(d.Summary)
			i := rng.IntN(max(len(rs)-8, 1))
			q.Text = string(rs[i:min(i+3+rng.IntN(6), len(rs))])
		case 4:
			q.Text = pick(english)
		case 5:
			q.Text = pick(multi)
		case 6: // listing with one filter
			switch rng.IntN(4) {
			case 0:
				q.Tag = d.Tags[rng.IntN(len(d.Tags))]
			case 1:
				q.Region = pick(regions)
			case 2:
				q.Provider = d.Provider
			case 3:
				q.ShareType = pick(shareTypes)
			}
		case 7: // query with filters
			q.Text = pick(two)
			q.Region = pick(regions)
			q.ShareType = pick(shareTypes)
			q.Level = 1 + rng.IntN(4)
		case 8: // plain listing, large pages
			q.Limit = []int{20, 100, 500}[rng.IntN(3)]
		case 9: // deep pages behind cursors
			q.Text = pick(append(two, "市", "局"))
			q.pages = 5 + rng.IntN(20)
		}
		pages += q.pages
		qs = append(qs, q)
	}
	return qs
}
