package demo

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"

	"github.com/hutong/hutong"
)

// The demo's cross-province services (跨省通办): four 京津冀 services, the
// resources their evidence comes from, applicants who appear in those
// resources, window and handling officers, and the standing service
// agreements each provider approves once.

// serviceTemplates are the resources the services need beyond the
// catalog's: published by every province like the catalog's templates.
var serviceTemplates = []resourceTemplate{
	{seq: 31, bureau: "GA", name: "居住证登记信息", nameEn: "Residence Permits",
		summary: "居住证申领登记信息：姓名、公民身份号码、居住地址、签发日期与有效期，用于异地就医备案、随迁子女入学等跨省通办事项核验居住情况。",
		items: []hutong.Item{required("姓名", "person_name"), required("公民身份号码", "citizen_id"), item("居住地址", "address"),
			item("签发日期", "date"), item("有效期至", "date")},
		share: hutong.ShareConditional, cond: "仅限跨省通办事项中核验申请人本人的居住情况。", open: hutong.OpenNone, cycle: "daily", level: 3, grade: hutong.GradeImportant,
		tags: []string{"公安", "居住证", "个人信息", "跨省通办"}, rowCount: 1500},
	{seq: 32, bureau: "SJ", name: "住房公积金缴存信息", nameEn: "Housing Provident Fund Contributions",
		summary: "由政务服务和数据管理部门归集的住房公积金缴存信息（源自住房公积金管理中心）：缴存单位、缴存状态、月缴存额、初次缴存日期与账户余额。",
		items: []hutong.Item{required("姓名", "person_name"), required("公民身份号码", "citizen_id"), item("缴存单位", "org_name"),
			item("缴存状态", "text"), item("月缴存额（元）", "amount"), item("初次缴存日期", "date"), item("账户余额（元）", "amount")},
		share: hutong.ShareConditional, cond: "仅限住房公积金异地贷款、转移接续等事项中核验申请人本人的缴存情况。", open: hutong.OpenNone, cycle: "daily", level: 3, grade: hutong.GradeImportant,
		tags: []string{"住房公积金", "个人信息", "跨省通办"}, rowCount: 1500},
	{seq: 33, bureau: "SJ", name: "企业职工基本养老保险参保缴费信息", nameEn: "Basic Pension Insurance Contributions",
		summary: "由政务服务和数据管理部门归集的企业职工基本养老保险参保缴费信息（源自社会保险经办机构）：参保状态、累计缴费月数与参保地。",
		items: []hutong.Item{required("姓名", "person_name"), required("公民身份号码", "citizen_id"), item("参保状态", "text"),
			item("累计缴费月数", "count"), item("参保地", "division_code"), item("首次参保日期", "date")},
		share: hutong.ShareConditional, cond: "仅限养老保险关系转移接续等事项中核验申请人本人的参保缴费情况。", open: hutong.OpenNone, cycle: "daily", level: 3, grade: hutong.GradeImportant,
		tags: []string{"社会保障", "养老保险", "个人信息", "跨省通办"}, rowCount: 1500},
	{seq: 34, bureau: "SJ", name: "企业清税信息", nameEn: "Enterprise Tax Clearances",
		summary: "由政务服务和数据管理部门归集的企业清税信息（源自税务部门）：统一社会信用代码、纳税人名称、清税状态与日期，用于企业迁移、注销登记。",
		items:   []hutong.Item{required("统一社会信用代码", "uscc"), required("纳税人名称", "org_name"), item("清税状态", "text"), item("清税日期", "date")},
		share:   hutong.ShareConditional, cond: "仅限企业迁移、注销登记中核验申请企业本身的清税情况。", open: hutong.OpenNone, cycle: "daily", level: 2, grade: hutong.GradeGeneral,
		tags: []string{"税务", "企业", "跨省通办"}, rowCount: 800},
}

// demoApplicant is an applicant of the demo: someone who is row 0 of a
// catalog resource, and whose rows the service resources hold too.
type demoApplicant struct {
	login  string
	region string
	kind   hutong.IDKind
	from   string   // the catalog resource whose first row they are
	in     []string // service resources that hold a row of theirs
}

var demoApplicants = []demoApplicant{
	{login: "hb-person", region: "130000", kind: hutong.IDPerson, from: "130000-HBYB-03", in: []string{"110000-BJGA-31"}},
	{login: "tj-person", region: "120000", kind: hutong.IDPerson, from: "120000-TJYB-03", in: []string{"120000-TJSJ-33"}},
	{login: "bj-person", region: "110000", kind: hutong.IDPerson, from: "110000-BJYB-03", in: []string{"110000-BJSJ-32"}},
	{login: "bj-company", region: "110000", kind: hutong.IDEnterprise, from: "110000-BJSC-01", in: []string{"110000-BJSJ-34"}},
}

// demoOfficers are the window (受理) and handling (办理) officers.
var demoOfficers = []struct {
	login, short string
	role         hutong.Role
}{
	{"bjsj-window", "BJSJ", hutong.RoleWindowOfficer},
	{"hbsj-window", "HBSJ", hutong.RoleWindowOfficer},
	{"hbyb-officer", "HBYB", hutong.RoleHandlingOfficer},
	{"tjsc-officer", "TJSC", hutong.RoleHandlingOfficer},
	{"hbsj-officer", "HBSJ", hutong.RoleHandlingOfficer},
	{"bjsj-officer", "BJSJ", hutong.RoleHandlingOfficer},
}

// ServiceResources returns the resources the demo's services need beyond
// the catalog's.
func ServiceResources(depts []hutong.Department) []*hutong.Resource {
	return resourcesOf(depts, serviceTemplates)
}

// identity is who a demo applicant is.
type identity struct {
	name, id string
}

// applicantIdentity returns the name and identifier of a, from the first
// row of its catalog resource.
func applicantIdentity(a demoApplicant, o Options) (identity, error) {
	src := rowsOf(a.from, o)
	if src == nil {
		return identity{}, fmt.Errorf("demo: %s has no rows", a.from)
	}
	_, row, err := src.Next()
	if err != nil {
		return identity{}, err
	}
	if a.kind == hutong.IDEnterprise {
		return identity{name: row["企业名称"], id: row["统一社会信用代码"]}, nil
	}
	return identity{name: row["姓名"], id: row["公民身份号码"]}, nil
}

// serviceRowsOf returns the rows of a service resource: generated people
// or enterprises, and a row of each demo applicant it holds first.
func serviceRowsOf(p province, t resourceTemplate, o Options) (*rowSource, error) {
	code := resourceCode(p, t)
	var own []identity
	for _, a := range demoApplicants {
		for _, in := range a.in {
			if in == code {
				who, err := applicantIdentity(a, o)
				if err != nil {
					return nil, err
				}
				own = append(own, who)
			}
		}
	}
	h := fnv.New64a()
	h.Write([]byte(code))
	g := newGen(o.Seed, h.Sum64())
	cs := counties(p.code)
	n := scaled(t.rowCount, o, 30)
	return &rowSource{n: len(own) + n, row: func(i int) map[string]string {
		var who identity
		if i < len(own) {
			who = own[i]
		} else if t.seq == 34 {
			who = identity{name: shortName(p.name) + g.pick(firmWords) + g.pick(firmTrades) + "有限公司", id: uscc("91", g.pick(cs), g.orgCode())}
		} else {
			pp := g.person(p, cs)
			who = identity{name: pp.name, id: pp.id}
		}
		switch t.seq {
		case 31:
			issued := g.date(2019, 2026)
			until := fmt.Sprintf("%d%s", 2029+g.intn(3), issued[4:])
			if issued[5:] == "02-29" {
				until = until[:5] + "02-28"
			}
			return map[string]string{"姓名": who.name, "公民身份号码": who.id, "居住地址": g.address(p.code, g.pick(cs)), "签发日期": issued, "有效期至": until}
		case 32:
			status := "正常缴存"
			if g.chance(0.1) {
				status = "封存"
			}
			return map[string]string{"姓名": who.name, "公民身份号码": who.id, "缴存单位": shortName(p.name) + g.pick(firmWords) + g.pick(firmTrades) + "有限公司",
				"缴存状态": status, "月缴存额（元）": f2(float64(g.between(300, 6000))), "初次缴存日期": g.date(2005, 2024), "账户余额（元）": f2(float64(g.between(1000, 300000)))}
		case 33:
			status := "参保缴费"
			if g.chance(0.1) {
				status = "暂停缴费"
			}
			return map[string]string{"姓名": who.name, "公民身份号码": who.id, "参保状态": status, "累计缴费月数": fmt.Sprint(g.between(12, 420)),
				"参保地": g.pick(cs), "首次参保日期": g.date(1995, 2024)}
		}
		status := "已清税"
		if g.chance(0.2) {
			status = "未清税"
		}
		return map[string]string{"统一社会信用代码": who.id, "纳税人名称": who.name, "清税状态": status, "清税日期": g.date(2024, 2026)}
	}}, nil
}

// DemoServices returns the demo's four 京津冀 services, between the
// departments of depts.
func DemoServices(depts []hutong.Department) []*hutong.Service {
	id := map[string]string{}
	for _, d := range depts {
		id[d.Short] = d.ID
	}
	prov := func(region, resource, subject string, fields ...string) hutong.EvidenceProvider {
		return hutong.EvidenceProvider{Region: region, Resource: resource, Fields: fields, Subject: subject}
	}
	return []*hutong.Service{
		{Code: "JJJ-YB-0001", Name: "异地就医备案", NameEn: "Registration for medical treatment in another province",
			Regions: []string{"130000", "110000"}, Receiving: id["BJSJ"], Handling: id["HBYB"], ApplicantKind: hutong.IDPerson,
			Evidence: []hutong.EvidenceType{
				{Type: "insured", Name: "参保信息", Providers: []hutong.EvidenceProvider{prov("130000", "130000-HBYB-03", "公民身份号码", "姓名", "公民身份号码", "险种", "参保状态", "参保地", "参保日期")}},
				{Type: "residence", Name: "居住证明", Providers: []hutong.EvidenceProvider{prov("110000", "110000-BJGA-31", "公民身份号码", "姓名", "公民身份号码", "居住地址", "签发日期", "有效期至")}},
			},
			TimeLimitDays: 3, LegalBasis: "《国家医疗保障局 财政部关于进一步做好基本医疗保险跨省异地就医直接结算工作的通知》（医保发〔2022〕22号）",
			Outcome: "异地就医备案凭证", PreviewRequired: true},
		{Code: "JJJ-SC-0001", Name: "企业跨省迁移登记", NameEn: "Moving an enterprise's registration to another province",
			Regions: []string{"110000", "120000"}, Receiving: id["BJSJ"], Handling: id["TJSC"], ApplicantKind: hutong.IDEnterprise,
			Evidence: []hutong.EvidenceType{
				{Type: "registration", Name: "企业登记信息", Providers: []hutong.EvidenceProvider{prov("110000", "110000-BJSC-01", "统一社会信用代码", "统一社会信用代码", "企业名称", "法定代表人", "企业类型", "住所", "登记状态")}},
				{Type: "tax_clearance", Name: "清税证明", Providers: []hutong.EvidenceProvider{prov("110000", "110000-BJSJ-34", "统一社会信用代码", "统一社会信用代码", "纳税人名称", "清税状态", "清税日期")}},
			},
			TimeLimitDays: 5, LegalBasis: "《中华人民共和国市场主体登记管理条例》第二十七条；《国务院办公厅关于加快推进政务服务“跨省通办”的指导意见》（国办发〔2020〕35号）",
			Outcome: "营业执照（迁入地）", PreviewRequired: true},
		{Code: "JJJ-RS-0001", Name: "养老保险关系转移", NameEn: "Transferring basic pension insurance",
			Regions: []string{"120000", "130000"}, Receiving: id["HBSJ"], Handling: id["HBSJ"], ApplicantKind: hutong.IDPerson,
			Evidence: []hutong.EvidenceType{
				{Type: "pension", Name: "养老保险参保缴费凭证", Providers: []hutong.EvidenceProvider{prov("120000", "120000-TJSJ-33", "公民身份号码", "姓名", "公民身份号码", "参保状态", "累计缴费月数", "参保地", "首次参保日期")}},
				{Type: "insured", Name: "参保信息", Providers: []hutong.EvidenceProvider{prov("120000", "120000-TJYB-03", "公民身份号码", "姓名", "公民身份号码", "参保状态", "参保地")}},
			},
			TimeLimitDays: 15, LegalBasis: "《城镇企业职工基本养老保险关系转移接续暂行办法》（国办发〔2009〕66号）",
			Outcome: "基本养老保险关系转移接续联系函", PreviewRequired: true},
		{Code: "JJJ-GJJ-0001", Name: "住房公积金异地贷款缴存证明", NameEn: "Proof of housing fund contributions for a loan in another province",
			Regions: []string{"110000", "130000"}, Receiving: id["HBSJ"], Handling: id["BJSJ"], ApplicantKind: hutong.IDPerson,
			Evidence: []hutong.EvidenceType{
				{Type: "fund", Name: "住房公积金缴存信息", Providers: []hutong.EvidenceProvider{prov("110000", "110000-BJSJ-32", "公民身份号码", "姓名", "公民身份号码", "缴存单位", "缴存状态", "月缴存额（元）", "初次缴存日期")}},
				{Type: "insured", Name: "参保信息", Providers: []hutong.EvidenceProvider{prov("110000", "110000-BJYB-03", "公民身份号码", "姓名", "公民身份号码", "参保状态")}},
			},
			TimeLimitDays: 3, LegalBasis: "《住房城乡建设部 财政部 中国人民银行关于维护住房公积金缴存职工购房贷款权益的通知》（建金〔2016〕179号）",
			Outcome: "异地贷款职工住房公积金缴存使用证明", PreviewRequired: true},
	}
}

// ServiceDeps are what LoadServices needs.
type ServiceDeps struct {
	Catalog  hutong.CatalogService
	Rows     hutong.RowService
	Auth     hutong.AuthService
	Requests hutong.RequestService
	Services hutong.ServiceStore
}

// LoadServices puts the demo's services into a hub after Load: their
// resources and rows, the services, their standing agreements (each
// requested by the handling department and approved by the provider's
// steward), the applicants and the officers. Like Load it is idempotent.
func LoadServices(ctx context.Context, s ServiceDeps, o Options, log *slog.Logger) error {
	o = o.withDefaults()
	ctx = hutong.NewContextWithActor(ctx, system)
	depts := Departments(o.Seed)
	for _, r := range ServiceResources(depts) {
		have, err := s.Catalog.Resource(ctx, r.Code)
		switch {
		case hutong.ErrorCode(err) == hutong.ENOTFOUND:
			if err := s.Catalog.PublishResource(ctx, r); err != nil {
				return fmt.Errorf("demo: resource %s: %w", r.Code, err)
			}
			have = r
		case err != nil:
			return err
		}
		if have.Rows > 0 {
			continue
		}
		var src *rowSource
		for _, p := range provinces {
			for _, t := range serviceTemplates {
				if resourceCode(p, t) == r.Code {
					if src, err = serviceRowsOf(p, t, o); err != nil {
						return err
					}
				}
			}
		}
		if _, err := s.Rows.ImportRows(ctx, have.Code, src, hutong.ImportReplace); err != nil {
			return fmt.Errorf("demo: rows of %s: %w", have.Code, err)
		}
	}

	byID := map[string]hutong.Department{}
	for _, d := range depts {
		byID[d.ID] = d
	}
	as := func(login string) (context.Context, error) {
		u, err := s.Auth.UserByLogin(ctx, login)
		if err != nil {
			return nil, fmt.Errorf("demo: user %s: %w", login, err)
		}
		return hutong.NewContextWithActor(ctx, &hutong.Actor{User: u}), nil
	}
	agreements := 0
	for _, svc := range DemoServices(depts) {
		if _, err := s.Services.Service(ctx, svc.Code); hutong.ErrorCode(err) == hutong.ENOTFOUND {
			if err := s.Services.PutService(ctx, svc); err != nil {
				return fmt.Errorf("demo: service %s: %w", svc.Code, err)
			}
		} else if err != nil {
			return err
		}
		for _, in := range svc.StandingRequests("2027-12-31") {
			have, err := s.Requests.ActiveAgreements(ctx, in.Consumer, in.Resource)
			if err != nil {
				return err
			}
			if hasPurpose(have, in.Purpose) {
				continue
			}
			consumer, err := as(strings.ToLower(byID[svc.Handling].Short) + "-consumer")
			if err != nil {
				return err
			}
			req, err := s.Requests.CreateRequest(consumer, &in)
			if err != nil {
				return fmt.Errorf("demo: standing request of %s for %s: %w", svc.Code, in.Resource, err)
			}
			if req.Status == hutong.RequestPending {
				res, err := s.Catalog.Resource(ctx, in.Resource)
				if err != nil {
					return err
				}
				steward, err := as(strings.ToLower(byID[res.Provider].Short) + "-steward")
				if err != nil {
					return err
				}
				if _, err := s.Requests.Approve(steward, req.ID, hutong.StandingNarrowing); err != nil {
					return fmt.Errorf("demo: approve the standing request of %s for %s: %w", svc.Code, in.Resource, err)
				}
			}
			agreements++
		}
	}

	for _, a := range demoApplicants {
		who, err := applicantIdentity(a, o)
		if err != nil {
			return err
		}
		if _, err := s.Auth.UserByLogin(ctx, a.login); hutong.ErrorCode(err) == hutong.ENOTFOUND {
			if err := s.Auth.CreateUser(ctx, &hutong.User{Login: a.login, Name: who.name, Roles: []hutong.Role{hutong.RoleApplicant}}, Password); err != nil {
				return fmt.Errorf("demo: user %s: %w", a.login, err)
			}
		} else if err != nil {
			return err
		}
		if err := s.Services.PutApplicant(ctx, a.login, hutong.Applicant{Kind: a.kind, Number: who.id, Region: a.region}); err != nil {
			return err
		}
	}
	byShort := map[string]hutong.Department{}
	for _, d := range depts {
		byShort[d.Short] = d
	}
	for _, off := range demoOfficers {
		d := byShort[off.short]
		if _, err := s.Auth.UserByLogin(ctx, off.login); err == nil {
			continue
		} else if hutong.ErrorCode(err) != hutong.ENOTFOUND {
			return err
		}
		name := d.Name + "窗口受理人员"
		if off.role == hutong.RoleHandlingOfficer {
			name = d.Name + "办理人员"
		}
		if err := s.Auth.CreateUser(ctx, &hutong.User{Login: off.login, Name: name, Department: d.ID, Roles: []hutong.Role{off.role}}, Password); err != nil {
			return fmt.Errorf("demo: user %s: %w", off.login, err)
		}
	}
	log.Info("demo services loaded", "services", len(DemoServices(depts)), "standing_agreements_made", agreements, "applicants", len(demoApplicants))
	return nil
}

func hasPurpose(ags []*hutong.Agreement, purpose string) bool {
	for _, a := range ags {
		if a.Purpose == purpose {
			return true
		}
	}
	return false
}

// ApplicantCredential is a demo applicant's sign-in token.
type ApplicantCredential struct {
	Login  string        `json:"login"`
	Token  string        `json:"token"`
	IDKind hutong.IDKind `json:"id_kind"`
	Region string        `json:"region"`
}

// OfficerCredential is a demo window or handling officer's sign-in token.
type OfficerCredential struct {
	Login      string      `json:"login"`
	Token      string      `json:"token"`
	Department string      `json:"department"`
	Role       hutong.Role `json:"role"`
}

// IssueServiceCredentials signs in the demo's applicants and officers.
func IssueServiceCredentials(ctx context.Context, auth hutong.AuthService) ([]ApplicantCredential, []OfficerCredential, error) {
	token := func(login string) (*hutong.User, string, error) {
		u, err := auth.UserByLogin(ctx, login)
		if err != nil {
			return nil, "", fmt.Errorf("demo: user %s: %w", login, err)
		}
		t, err := auth.IssueToken(ctx, u.ID, tokenLifetime)
		return u, t, err
	}
	apps := []ApplicantCredential{}
	for _, a := range demoApplicants {
		_, t, err := token(a.login)
		if err != nil {
			return nil, nil, err
		}
		apps = append(apps, ApplicantCredential{Login: a.login, Token: t, IDKind: a.kind, Region: a.region})
	}
	offs := []OfficerCredential{}
	for _, off := range demoOfficers {
		u, t, err := token(off.login)
		if err != nil {
			return nil, nil, err
		}
		offs = append(offs, OfficerCredential{Login: off.login, Token: t, Department: u.Department, Role: off.role})
	}
	return apps, offs, nil
}
