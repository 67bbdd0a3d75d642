package demo

import (
	"fmt"

	"github.com/hutong/hutong"
)

// bureau is a kind of department every demo province has.
type bureau struct {
	kind   string // mnemonic suffix: SC, YB, HJ, GA, JT, TJ, SJ
	name   map[string]string
	nameEn string // with %s for the province's English name
}

var bureaus = []bureau{
	{"SC", map[string]string{"110000": "北京市市场监督管理局", "120000": "天津市市场监督管理委员会", "130000": "河北省市场监督管理局"}, "%s Administration for Market Regulation"},
	{"YB", map[string]string{"110000": "北京市医疗保障局", "120000": "天津市医疗保障局", "130000": "河北省医疗保障局"}, "%s Healthcare Security Administration"},
	{"HJ", map[string]string{"110000": "北京市生态环境局", "120000": "天津市生态环境局", "130000": "河北省生态环境厅"}, "%s Ecology and Environment Bureau"},
	{"GA", map[string]string{"110000": "北京市公安局", "120000": "天津市公安局", "130000": "河北省公安厅"}, "%s Public Security Bureau"},
	{"JT", map[string]string{"110000": "北京市交通委员会", "120000": "天津市交通运输委员会", "130000": "河北省交通运输厅"}, "%s Transport Commission"},
	{"TJ", map[string]string{"110000": "北京市统计局", "120000": "天津市统计局", "130000": "河北省统计局"}, "%s Bureau of Statistics"},
	{"SJ", map[string]string{"110000": "北京市政务服务和数据管理局", "120000": "天津市政务服务办公室", "130000": "河北省数据和政务服务局"}, "%s Government Services and Data Administration"},
}

// Departments returns the demo's departments: seven bureaus in each of
// Beijing, Tianjin and Hebei, with valid 统一社会信用代码 drawn from seed.
func Departments(seed uint64) []hutong.Department {
	g := newGen(seed, 1)
	var out []hutong.Department
	for _, p := range provinces {
		for _, b := range bureaus {
			out = append(out, hutong.Department{
				ID:     uscc("11", p.code, g.orgCode()),
				Name:   b.name[p.code],
				NameEn: fmt.Sprintf(b.nameEn, p.nameEn),
				Region: p.code,
				Short:  p.short + b.kind,
			})
		}
	}
	return out
}

// resourceTemplate describes one resource every demo province publishes.
type resourceTemplate struct {
	seq      int
	bureau   string
	name     string // after the province name
	nameEn   string // after the province's English name
	summary  string
	items    []hutong.Item
	share    hutong.ShareType
	cond     string
	basis    string
	open     hutong.OpenType
	cycle    string
	level    int
	grade    hutong.Grade
	tags     []string
	rows     rowsFunc // nil: metadata only
	rowCount int      // at scale 1
}

func item(name, element string) hutong.Item { return hutong.Item{Name: name, Element: element} }
func required(name, element string) hutong.Item {
	return hutong.Item{Name: name, Element: element, Required: true}
}

var templates = []resourceTemplate{
	{seq: 1, bureau: "SC", name: "企业登记信息", nameEn: "Enterprise Registrations",
		summary: "本地登记注册的企业法人基本信息：统一社会信用代码、名称、法定代表人、类型、注册资本、成立日期、住所、经营范围与登记状态。",
		items: []hutong.Item{required("统一社会信用代码", "uscc"), required("企业名称", "org_name"), item("法定代表人", "person_name"),
			item("企业类型", "enterprise_type"), item("注册资本（万元）", "amount"), item("成立日期", "date"), item("住所", "address"),
			item("登记机关", "division_code"), item("经营范围", "business_scope"), item("登记状态", "text")},
		share: hutong.ShareUnconditional, open: hutong.OpenUnconditional, cycle: "daily", level: 1, grade: hutong.GradeGeneral,
		tags: []string{"市场监管", "企业", "法人", "证照"}, rows: enterpriseRows, rowCount: 8000},
	{seq: 2, bureau: "SC", name: "企业行政处罚信息", nameEn: "Administrative Penalties on Enterprises",
		summary: "市场监管领域对企业作出的行政处罚决定：当事人、违法行为类型、处罚内容与决定日期。",
		items: []hutong.Item{required("统一社会信用代码", "uscc"), item("当事人名称", "org_name"), item("违法行为类型", "text"),
			item("处罚内容", "text"), item("罚没金额（元）", "amount"), item("处罚决定日期", "date")},
		share: hutong.ShareConditional, cond: "用于信用监管、行政审批核查；不得向社会公开个人信息。", open: hutong.OpenConditional, cycle: "weekly", level: 2, grade: hutong.GradeGeneral,
		tags: []string{"市场监管", "信用", "执法"}},
	{seq: 3, bureau: "YB", name: "基本医疗保险参保人员信息", nameEn: "Basic Medical Insurance Enrollees",
		summary: "参加职工和城乡居民基本医疗保险人员的参保登记信息，供跨省异地就医直接结算、医保关系转移接续核验使用（医保数据）。",
		items: []hutong.Item{required("姓名", "person_name"), required("公民身份号码", "citizen_id"), item("性别", "gender"), item("出生日期", "date"),
			item("手机号码", "mobile"), item("险种", "insurance_type"), item("参保状态", "insured_status"), item("参保地", "division_code"),
			item("参保日期", "date"), item("社会保障卡银行账号", "bank_card")},
		share: hutong.ShareConditional, cond: "限用于异地就医结算、医保待遇核验等法定职责；需经医保部门数据管理员审批。", open: hutong.OpenNone, cycle: "daily", level: 3, grade: hutong.GradeImportant,
		tags: []string{"医保", "社会保障", "个人信息", "异地就医"}, rows: insuredRows, rowCount: 10000},
	{seq: 4, bureau: "YB", name: "医保定点医疗机构名录", nameEn: "Designated Medical Institutions",
		summary: "纳入基本医疗保险定点管理的医疗机构名录：名称、统一社会信用代码、地址、所在地区、联系电话与等级。",
		items: []hutong.Item{required("机构名称", "org_name"), required("统一社会信用代码", "uscc"), item("地址", "address"),
			item("所在地区", "division_code"), item("联系电话", "phone"), item("医院等级", "text")},
		share: hutong.ShareUnconditional, open: hutong.OpenUnconditional, cycle: "monthly", level: 1, grade: hutong.GradeGeneral,
		tags: []string{"医保", "医疗机构", "异地就医"}, rows: hospitalRows, rowCount: 200},
	{seq: 5, bureau: "HJ", name: "空气质量小时监测数据", nameEn: "Hourly Air Quality Readings",
		summary: "国控空气质量监测站点逐小时监测数据：AQI、PM2.5、PM10、SO2、NO2、O3、CO 与首要污染物，按 HJ 633-2012 计算。",
		items: []hutong.Item{required("监测站点编码", "station_code"), required("所在城市", "division_code"), required("监测时间", "datetime"),
			item("AQI", "aqi"), item("PM2.5", "pm25"), item("PM10", "pm10"), item("SO2", "so2"), item("NO2", "no2"), item("O3", "o3"), item("CO", "co"),
			item("首要污染物", "primary_pollutant")},
		share: hutong.ShareUnconditional, open: hutong.OpenUnconditional, cycle: "hourly", level: 1, grade: hutong.GradeGeneral,
		tags: []string{"生态环境", "空气质量", "物联网", "大气污染联防联控"}, rows: airRows, rowCount: -1},
	{seq: 6, bureau: "HJ", name: "重点排污单位名录", nameEn: "Key Pollutant-Discharging Units",
		summary: "依法确定的重点排污单位名录：单位名称、统一社会信用代码、所在地区、行业类别与排污许可证编号。",
		items: []hutong.Item{required("单位名称", "org_name"), required("统一社会信用代码", "uscc"), item("所在地区", "division_code"),
			item("行业类别", "text"), item("排污许可证编号", "text")},
		share: hutong.ShareUnconditional, open: hutong.OpenUnconditional, cycle: "yearly", level: 1, grade: hutong.GradeGeneral,
		tags: []string{"生态环境", "排污许可", "企业"}, rows: polluterRows, rowCount: 150},
	{seq: 7, bureau: "GA", name: "户籍人口基础信息", nameEn: "Registered Residents (Basic)",
		summary: "户籍人口基础信息：姓名、公民身份号码、性别、出生日期、户籍地址，用于跨省通办身份核验。",
		items: []hutong.Item{required("姓名", "person_name"), required("公民身份号码", "citizen_id"), item("性别", "gender"), item("出生日期", "date"),
			item("户籍地址", "address"), item("户籍所在地", "division_code")},
		share: hutong.ShareConditional, cond: "仅限履行法定职责所必需的身份核验，按最小必要原则提供，须经公安机关审批。", open: hutong.OpenNone, cycle: "daily", level: 3, grade: hutong.GradeImportant,
		tags: []string{"公安", "户籍", "人口", "个人信息", "跨省通办"}, rows: residentRows, rowCount: 5000},
	{seq: 8, bureau: "GA", name: "公民户籍详细档案", nameEn: "Detailed Household Registration Files",
		summary: "户籍档案全量信息（含曾用名、婚姻状况、迁移记录、亲属关系），涉及大量敏感个人信息，不予共享。",
		items: []hutong.Item{required("姓名", "person_name"), required("公民身份号码", "citizen_id"), item("曾用名", "person_name"),
			item("户籍地址", "address"), item("迁入日期", "date"), item("联系电话", "mobile")},
		share: hutong.ShareNone, basis: "《中华人民共和国个人信息保护法》第二十八条、第二十九条；《中华人民共和国户口登记条例》", open: hutong.OpenNone, cycle: "daily", level: 4, grade: hutong.GradeCore,
		tags: []string{"公安", "户籍", "个人信息"}},
	{seq: 9, bureau: "GA", name: "机动车登记信息", nameEn: "Motor Vehicle Registrations",
		summary: "机动车注册登记信息：号牌号码、所有人、所有人身份证号、车辆类型、注册登记日期与所在地区。",
		items: []hutong.Item{required("号牌号码", "plate"), item("所有人", "person_name"), item("所有人身份证号", "citizen_id"),
			item("车辆类型", "text"), item("注册登记日期", "date"), item("所在地区", "division_code")},
		share: hutong.ShareConditional, cond: "用于交通执法协作、保险理赔核验，须经公安交管部门审批。", open: hutong.OpenNone, cycle: "daily", level: 3, grade: hutong.GradeImportant,
		tags: []string{"公安", "交通", "车辆", "个人信息"}, rows: vehicleRows, rowCount: 3000},
	{seq: 10, bureau: "JT", name: "高速公路交通流量监测数据", nameEn: "Expressway Traffic Flow",
		summary: "高速公路路段检测器逐小时交通流量与平均车速。",
		items: []hutong.Item{required("道路编码", "road_code"), item("路段名称", "text"), required("所在地区", "division_code"), required("统计时间", "datetime"),
			item("车流量", "vehicle_count"), item("平均车速", "avg_speed")},
		share: hutong.ShareUnconditional, open: hutong.OpenUnconditional, cycle: "hourly", level: 1, grade: hutong.GradeGeneral,
		tags: []string{"交通", "物联网", "交通一体化"}, rows: trafficRows, rowCount: -1},
	{seq: 11, bureau: "TJ", name: "地区生产总值", nameEn: "Gross Regional Product",
		summary: "按行政区划和年度统计的地区生产总值（亿元）及其实际增长率。",
		items:   []hutong.Item{required("行政区划代码", "division_code"), required("年份", "year"), item("地区生产总值（亿元）", "gdp"), item("实际增长率", "percent")},
		share:   hutong.ShareUnconditional, open: hutong.OpenUnconditional, cycle: "yearly", level: 1, grade: hutong.GradeGeneral,
		tags: []string{"统计", "经济", "宏观"}, rows: gdpRows, rowCount: -1},
	{seq: 12, bureau: "TJ", name: "常住人口统计", nameEn: "Resident Population",
		summary: "按行政区划和年度统计的常住人口（万人）与城镇化率。",
		items:   []hutong.Item{required("行政区划代码", "division_code"), required("年份", "year"), item("常住人口（万人）", "population"), item("城镇化率", "percent")},
		share:   hutong.ShareUnconditional, open: hutong.OpenUnconditional, cycle: "yearly", level: 1, grade: hutong.GradeGeneral,
		tags: []string{"统计", "人口", "宏观"}, rows: populationRows, rowCount: -1},
	{seq: 13, bureau: "SJ", name: "跨省通办政务服务事项目录", nameEn: "Cross-Province Government Services",
		summary: "纳入京津冀跨省通办的政务服务事项：事项编码、名称、实施主体、办理地区与办理方式。",
		items:   []hutong.Item{required("事项编码", "text"), required("事项名称", "text"), item("实施主体", "org_name"), item("办理地区", "division_code"), item("办理方式", "text")},
		share:   hutong.ShareUnconditional, open: hutong.OpenUnconditional, cycle: "monthly", level: 1, grade: hutong.GradeGeneral,
		tags: []string{"政务服务", "跨省通办", "京津冀"}, rows: serviceRows, rowCount: 120},
}

// resourceCode is the demo's resource code: province, department mnemonic
// and sequence, e.g. 120000-TJYB-03.
func resourceCode(p province, t resourceTemplate) string {
	return fmt.Sprintf("%s-%s%s-%02d", p.code, p.short, t.bureau, t.seq)
}

// Resources returns the demo's catalog: every template for every province,
// provided by the matching department of depts.
func Resources(depts []hutong.Department) []*hutong.Resource {
	return resourcesOf(depts, templates)
}

// resourcesOf returns the resources of tpls for every province.
func resourcesOf(depts []hutong.Department, tpls []resourceTemplate) []*hutong.Resource {
	byShort := map[string]hutong.Department{}
	for _, d := range depts {
		byShort[d.Short] = d
	}
	var out []*hutong.Resource
	for _, p := range provinces {
		for _, t := range tpls {
			d := byShort[p.short+t.bureau]
			items := append([]hutong.Item(nil), t.items...)
			r := &hutong.Resource{
				Code:            resourceCode(p, t),
				Name:            p.name + t.name,
				NameEn:          p.nameEn + " " + t.nameEn,
				Provider:        d.ID,
				Region:          p.code,
				Summary:         t.summary,
				Format:          "数据库",
				Items:           items,
				ShareType:       t.share,
				ShareConditions: t.cond,
				LegalBasis:      t.basis,
				OpenType:        t.open,
				UpdateCycle:     t.cycle,
				PublishDate:     "2026-10-31",
				Level:           t.level,
				Grade:           t.grade,
				Tags:            append([]string{"京津冀"}, t.tags...),
				Hosted:          hutong.HostedHub,
			}
			if t.share == hutong.ShareUnconditional && t.basis == "" {
				r.LegalBasis = "《政务信息资源共享管理暂行办法》（国发〔2016〕51号）"
			}
			out = append(out, r)
		}
	}
	return out
}
