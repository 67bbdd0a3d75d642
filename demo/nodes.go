package demo

import (
	"fmt"
	"strconv"

	"github.com/hutong/hutong"
)

// NodeDataset is a table a demo region keeps at its own node rather than
// in the hub (数据不出域): the resource it publishes and the rows of its
// source, with ASCII column names as a department's database has them.
type NodeDataset struct {
	// Resource is the catalog metadata; its Items, aligned with Columns,
	// map the columns to data elements.
	Resource *hutong.Resource
	Columns  []string
	Rows     [][]string
}

// nodeTemplate is a dataset one province keeps at its node.
type nodeTemplate struct {
	province string
	bureau   string
	seq      int
	name     string
	nameEn   string
	summary  string
	items    []hutong.Item
	columns  []string
	share    hutong.ShareType
	cond     string
	level    int
	grade    hutong.Grade
	tags     []string
	rows     int
	row      func(p province, g *gen, i int) []string
}

var nodeTemplates = []nodeTemplate{
	{province: "110000", bureau: "GA", seq: 21, name: "流动人口居住登记信息", nameEn: "Registered Temporary Residents",
		summary: "来京流动人口居住登记信息，保存在北京市区域节点，数据不出域；经审批的查询由节点按协议字段与脱敏规则应答。",
		items: []hutong.Item{required("姓名", "person_name"), required("公民身份号码", "citizen_id"), item("手机号码", "mobile"),
			item("居住地址", "address"), item("登记日期", "date")},
		columns: []string{"xm", "sfzh", "sjhm", "jzdz", "djrq"},
		share:   hutong.ShareConditional, cond: "仅限公共服务、社会治理中的身份与居住核验，须经公安机关审批。", level: 3, grade: hutong.GradeImportant,
		tags: []string{"公安", "人口", "个人信息", "区域节点"}, rows: 3000,
		row: func(p province, g *gen, i int) []string {
			cs := counties(p.code)
			who := g.person(p, counties(g.pick([]string{"120000", "130000"})))
			return []string{who.name, who.id, g.mobile(), g.address(p.code, g.pick(cs)), g.date(2020, 2026)}
		}},
	{province: "120000", bureau: "SC", seq: 21, name: "企业年度报告信息", nameEn: "Enterprise Annual Reports",
		summary: "企业年度报告公示信息：统一社会信用代码、企业名称、年度、从业人数与营业总收入，保存在天津市区域节点。",
		items: []hutong.Item{required("统一社会信用代码", "uscc"), required("企业名称", "org_name"), required("报告年度", "year"),
			item("从业人数", "count"), item("营业总收入（万元）", "amount")},
		columns: []string{"tyshxydm", "qymc", "nd", "cyrs", "yysr"},
		share:   hutong.ShareUnconditional, level: 1, grade: hutong.GradeGeneral,
		tags: []string{"市场监管", "企业", "信用", "区域节点"}, rows: 2000,
		row: func(p province, g *gen, i int) []string {
			cs := counties(p.code)
			return []string{uscc("91", g.pick(cs), g.orgCode()), "天津" + g.pick(firmWords) + g.pick(firmTrades) + "有限公司",
				strconv.Itoa(2021 + i%5), strconv.Itoa(g.between(3, 2000)), f2(float64(g.between(50, 500000)))}
		}},
	{province: "130000", bureau: "JT", seq: 21, name: "道路货运车辆信息", nameEn: "Road Freight Vehicles",
		summary: "道路货运经营车辆信息：号牌号码、业户名称、联系人、联系电话与核定载质量，保存在河北省区域节点。",
		items: []hutong.Item{required("号牌号码", "plate"), item("业户名称", "org_name"), item("联系人", "person_name"),
			item("联系电话", "mobile"), item("核定载质量（吨）", "amount")},
		columns: []string{"hphm", "yhmc", "lxr", "lxdh", "hdzzl"},
		share:   hutong.ShareConditional, cond: "用于治超联合执法、交通运输信用监管，须经交通运输部门审批。", level: 2, grade: hutong.GradeGeneral,
		tags: []string{"交通", "车辆", "货运", "区域节点"}, rows: 2500,
		row: func(p province, g *gen, i int) []string {
			cs := counties(p.code)
			who := g.person(p, cs)
			return []string{g.plate(p.abbr, p.plates), "河北" + g.pick(firmWords) + "物流有限公司", who.name, g.mobile(), f1(float64(g.between(20, 490)) / 10)}
		}},
}

var (
	firmWords  = []string{"华信", "宏达", "恒通", "瑞丰", "鑫源", "远航", "海纳", "聚力", "东方", "金桥", "德润", "长城"}
	firmTrades = []string{"科技", "贸易", "制造", "建设", "医药", "食品", "电子", "化工"}
)

// NodeDatasets returns the datasets the demo's regions keep at their nodes,
// by province, generated from the seed like the rest of the demo.
func NodeDatasets(depts []hutong.Department, o Options) map[string]*NodeDataset {
	o = o.withDefaults()
	byShort := map[string]hutong.Department{}
	for _, d := range depts {
		byShort[d.Short] = d
	}
	out := map[string]*NodeDataset{}
	for ti, t := range nodeTemplates {
		var p province
		for _, pp := range provinces {
			if pp.code == t.province {
				p = pp
			}
		}
		d := byShort[p.short+t.bureau]
		res := &hutong.Resource{
			Code:            fmt.Sprintf("%s-%s%s-%02d", p.code, p.short, t.bureau, t.seq),
			Name:            p.name + t.name,
			NameEn:          p.nameEn + " " + t.nameEn,
			Provider:        d.ID,
			Region:          p.code,
			Summary:         t.summary,
			Format:          "数据库",
			Items:           append([]hutong.Item(nil), t.items...),
			ShareType:       t.share,
			ShareConditions: t.cond,
			LegalBasis:      "《政务信息资源共享管理暂行办法》（国发〔2016〕51号）",
			OpenType:        hutong.OpenNone,
			UpdateCycle:     "daily",
			PublishDate:     "2026-10-31",
			Level:           t.level,
			Grade:           t.grade,
			Tags:            append([]string{"京津冀"}, t.tags...),
			Hosted:          hutong.HostedNode,
		}
		g := newGen(o.Seed, uint64(900+ti))
		n := scaled(t.rows, o, 20)
		ds := &NodeDataset{Resource: res, Columns: t.columns, Rows: make([][]string, n)}
		for i := range n {
			ds.Rows[i] = t.row(p, g, i)
		}
		out[p.code] = ds
	}
	return out
}
