package web

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/hutong/hutong"
)

// Languages of the dashboard: Chinese first, English second.
const (
	langZh = "zh"
	langEn = "en"
)

// messages is the dashboard's one translation table: every string it
// shows, by message id, in Chinese and English. Format verbs take the
// arguments given to T.
var messages = map[string][2]string{
	// Catalog tags and resource formats the demo and common catalogs use
	// (view.Tag, view.Format); a provider's other words show as written.
	"tag.个人信息":     {"个人信息", "Personal data"},
	"tag.公安":       {"公安", "Public security"},
	"tag.市场监管":     {"市场监管", "Market regulation"},
	"tag.区域节点":     {"区域节点", "Region node"},
	"tag.企业":       {"企业", "Enterprises"},
	"tag.人口":       {"人口", "Population"},
	"tag.交通":       {"交通", "Transport"},
	"tag.车辆":       {"车辆", "Vehicles"},
	"tag.跨省通办":     {"跨省通办", "Cross-province services"},
	"tag.统计":       {"统计", "Statistics"},
	"tag.生态环境":     {"生态环境", "Ecology and environment"},
	"tag.物联网":      {"物联网", "IoT"},
	"tag.户籍":       {"户籍", "Household registration"},
	"tag.异地就医":     {"异地就医", "Medical care away from home"},
	"tag.宏观":       {"宏观", "Macroeconomy"},
	"tag.医保":       {"医保", "Medical insurance"},
	"tag.信用":       {"信用", "Credit"},
	"tag.货运":       {"货运", "Freight"},
	"tag.证照":       {"证照", "Licences"},
	"tag.经济":       {"经济", "Economy"},
	"tag.空气质量":     {"空气质量", "Air quality"},
	"tag.社会保障":     {"社会保障", "Social security"},
	"tag.法人":       {"法人", "Legal persons"},
	"tag.政务服务":     {"政务服务", "Government services"},
	"tag.排污许可":     {"排污许可", "Discharge permits"},
	"tag.执法":       {"执法", "Law enforcement"},
	"tag.大气污染联防联控": {"大气污染联防联控", "Joint air-pollution control"},
	"tag.医疗机构":     {"医疗机构", "Medical institutions"},
	"tag.京津冀":      {"京津冀", "Beijing–Tianjin–Hebei"},
	"tag.交通一体化":    {"交通一体化", "Integrated transport"},
	"format.数据库":   {"数据库", "Database"},
	"format.电子文件":  {"电子文件", "Electronic file"},
	"format.电子表格":  {"电子表格", "Spreadsheet"},
	"format.接口":    {"接口", "API"},
	"format.图片":    {"图片", "Image"},
	"format.音视频":   {"音视频", "Audio and video"},
	"app.name":     {"互通 · 京津冀政务数据共享平台", "Hutong · Jing-Jin-Ji Data Sharing"},
	"app.short":    {"互通", "Hutong"},
	"sep":          {"、", ", "},
	"lang.switch":  {"English", "中文"},
	"nav.overview": {"概览", "Overview"}, "nav.catalog": {"资源目录", "Catalog"}, "nav.requests": {"共享申请", "Requests"},
	"nav.agreements": {"协议与密钥", "Agreements & keys"}, "nav.feedback": {"使用反馈", "Feedback"},
	"nav.proof": {"存证核验", "Ledger"}, "nav.environment": {"生态环境", "Environment"},
	"nav.signout": {"退出", "Sign out"}, "nav.signedin": {"%s（%s）", "%s (%s)"},

	"login.title": {"登录", "Sign in"}, "login.login": {"用户名", "Login"}, "login.password": {"密码", "Password"},
	"login.submit": {"登录", "Sign in"}, "login.failed": {"用户名或密码错误。", "Wrong login or password."},
	"login.hint":  {"演示用户：admin、tjyb-steward、bjsj-consumer、bj-admin 等，密码均为 hutong-demo。", "Demo users: admin, tjyb-steward, bjsj-consumer, bj-admin and more; the password of all is hutong-demo."},
	"login.intro": {"京津冀政务数据共享：统一目录、申请审批、按协议交换、全程留痕。", "Jing-Jin-Ji government data sharing: one catalog, requests and approvals, governed exchange, a verifiable audit trail."},
	"login.csrf":  {"登录表单已过期，请重试。", "The sign-in form expired; please try again."},

	"login.throttled": {"该账号从此地址登录失败次数过多，请 %d 秒后再试。", "Too many failed sign-ins of this login from this address; try again in %d seconds."},
	"login.busy":      {"登录请求过多，请稍后再试。", "Too many sign-ins at once; please try again in a moment."},

	"role.admin": {"平台管理员", "platform admin"}, "role.region_admin": {"区域管理员", "region admin"},
	"role.steward": {"数据管理员", "data steward"}, "role.consumer": {"数据使用者", "data consumer"}, "role.auditor": {"审计员", "auditor"},

	"overview.title": {"共享概览", "Sharing overview"}, "overview.resources": {"目录资源", "Resources"},
	"overview.departments": {"接入部门", "Departments"}, "overview.agreements": {"共享协议", "Agreements"},
	"overview.today": {"今日交换", "Exchanges today"}, "overview.flows": {"空间信息流", "Spatial information flow"},
	"overview.flows.note":    {"近 30 天由提供方所在省（市）流向使用方所在省（市）的交换次数，线上数字为次数；圆点为省内交换。", "Exchange calls of the last 30 days from the provider's province to the consumer's, numbers on the arcs; dots are calls within a province."},
	"overview.flows.scale":   {"省际交换（线宽 1–8，最粗 = %d 次）", "Between provinces (width 1–8, widest = %d calls)"},
	"overview.history":       {"历史流", "History flow"},
	"overview.history.days":  {"近 30 天每日交换次数（不含今日）、7 日均值与按星期的 7 天预测", "Exchange calls per complete day over 30 days, their 7-day mean and a 7-day forecast by weekday"},
	"overview.history.hours": {"近 48 小时每小时交换次数", "Exchange calls per hour over the last 48 hours"},
	"overview.tags":          {"标签云", "Tag cloud"},
	"overview.tags.note":     {"字号表示带该标签的资源数与近 30 天调用量，乘以标签的区分度（所有资源都带的标签不显示）。", "Size shows the resources carrying the tag and their calls over 30 days, times how much the tag distinguishes them (a tag every resource carries is left out)."},
	"overview.nodata":        {"暂无数据", "No data yet"},
	"overview.calls":         {"交换次数", "Calls"}, "overview.weekmean": {"7 日均值", "7-day mean"}, "overview.forecast": {"预测（同星期中位数）", "Forecast (same weekday median)"}, "overview.band": {"预测区间", "Forecast range"},
	"overview.within": {"本地区内", "Within region"}, "overview.agreements.note": {"含本部门可见的有效协议", "active agreements you may see"},
	"overview.refused": {"拒绝 %s 次", "%s refused"},

	"catalog.title":  {"政务信息资源目录", "Government information resource catalog"},
	"catalog.search": {"搜索", "Search"}, "catalog.search.placeholder": {"资源名称、代码、提供方、信息项…", "Name, code, provider, item…"},
	"catalog.region": {"地区", "Region"}, "catalog.sharetype": {"共享类型", "Share type"}, "catalog.level": {"分级", "Level"},
	"catalog.tag": {"标签", "Tag"}, "catalog.any": {"全部", "All"}, "catalog.total": {"共 %s 条资源", "%s resources"},
	"catalog.next": {"下一页", "Next page"}, "catalog.first": {"第一页", "First page"}, "catalog.none": {"没有符合条件的资源。", "No resource matches."},
	"catalog.code": {"资源代码", "Code"}, "catalog.name": {"资源名称", "Name"}, "catalog.provider": {"提供方", "Provider"},
	"catalog.rows": {"数据量", "Rows"}, "catalog.level.n": {"%d 级", "Level %d"},

	"res.summary": {"摘要", "Summary"}, "res.format": {"资源格式", "Format"}, "res.conditions": {"共享条件", "Share conditions"},
	"res.legal": {"共享依据", "Legal basis"}, "res.rows.n": {"%s 条", "%s rows"}, "res.open": {"开放类型", "Open type"}, "res.cycle": {"更新周期", "Update cycle"},
	"res.published": {"发布日期", "Published"}, "res.grade": {"数据分级", "Grade"}, "res.hosted": {"存储位置", "Held"},
	"res.related": {"关联资源", "Related"}, "res.items": {"信息项", "Information items"}, "res.item": {"信息项名称", "Item"},
	"res.element": {"数据元", "Data element"}, "res.type": {"类型", "Type"}, "res.personal": {"个人信息", "Personal"},
	"res.masking": {"脱敏", "Masking"}, "res.required": {"必填", "Required"}, "res.quality": {"数据质量（填充率）", "Quality (filled)"},
	"res.quality.node":          {"数据保存在提供方区域节点，平台不统计其质量。", "Rows are held at the provider's region node; the hub does not measure them."},
	"res.quality.none":          {"平台尚未汇聚该资源的数据。", "The hub holds no rows of this resource."},
	"res.request":               {"申请共享", "Request access"},
	"res.request.fields":        {"申请的信息项", "Items requested"},
	"res.request.purpose":       {"用途", "Purpose"},
	"res.request.legal":         {"依据", "Legal basis"},
	"res.request.until":         {"有效期至", "Valid until"},
	"res.request.submit":        {"提交申请", "Submit request"},
	"res.request.none":          {"该资源不予共享，依据：%s", "This resource is not shared. Legal basis: %s"},
	"res.request.own":           {"这是本部门提供的资源。", "Your department provides this resource."},
	"res.request.nodept":        {"只有部门用户可以申请共享。", "Only a department's users may request access."},
	"res.request.pending":       {"申请已提交（%s），等待提供方审批，答复期限 %s（剩余 %d 个工作日）。", "Request %s filed; it waits for the provider's steward until %s (%d working days left)."},
	"res.request.approved":      {"申请已批准（%s），协议 %s 已生效。", "Request %s approved; agreement %s is in force."},
	"res.request.refused":       {"申请被拒绝（%s）：%s", "Request %s refused: %s"},
	"res.request.rejected":      {"申请被驳回（%s）：%s", "Request %s rejected: %s"},
	"res.request.mustfield":     {"请至少选择一个信息项。", "Choose at least one item."},
	"res.back":                  {"返回目录", "Back to the catalog"},
	"res.hosted.hub":            {"平台汇聚", "Hub"},
	"res.hosted.node":           {"区域节点", "Region node"},
	"common.yes":                {"是", "yes"},
	"common.no":                 {"否", "no"},
	"common.unavailable":        {"此功能在本平台未启用。", "This feature is not available on this hub."},
	"common.error":              {"出错了", "Something went wrong"},
	"common.back":               {"返回", "Back"},
	"common.filter":             {"查询", "Show"},
	"common.from":               {"起始日期", "From"},
	"common.to":                 {"截止日期", "To"},
	"common.department":         {"部门", "Department"},
	"common.status":             {"状态", "Status"},
	"common.actions":            {"操作", "Actions"},
	"common.none":               {"无", "None"},
	"common.name":               {"名称", "Name"},
	"common.created":            {"创建时间", "Created"},
	"error.notfound":            {"页面不存在", "Page not found"},
	"error.notfound.text":       {"没有这个页面：%s", "There is no page %s"},
	"error.method":              {"不支持的请求方式", "Method not allowed"},
	"error.csrf":                {"表单已过期或来源不明，请刷新页面后重试。", "The form expired or came from elsewhere; reload the page and try again."},
	"error.invalid":             {"请求有误", "Invalid request"},
	"error.not_found":           {"未找到", "Not found"},
	"error.conflict":            {"状态冲突", "Conflict"},
	"error.unauthorized":        {"需要登录", "Sign-in needed"},
	"error.forbidden":           {"无权操作", "Not allowed"},
	"error.rate_limited":        {"请求过于频繁", "Too many requests"},
	"error.unavailable":         {"暂时不可用", "Unavailable"},
	"error.internal":            {"内部错误", "Internal error"},
	"share.unconditional":       {"无条件共享", "Unconditional"},
	"share.conditional":         {"有条件共享", "Conditional"},
	"share.none":                {"不予共享", "Not shared"},
	"open.open":                 {"无条件开放", "Open"},
	"open.conditional":          {"有条件开放", "Conditionally open"},
	"open.closed":               {"不予开放", "Closed"},
	"grade.general":             {"一般数据", "General"},
	"grade.important":           {"重要数据", "Important"},
	"grade.core":                {"核心数据", "Core"},
	"status.pending":            {"待审批", "Pending"},
	"status.approved":           {"已批准", "Approved"},
	"status.rejected":           {"已驳回", "Rejected"},
	"status.refused":            {"不予共享", "Refused"},
	"status.active":             {"有效", "Active"},
	"status.revoked":            {"已撤销", "Revoked"},
	"status.expired":            {"已到期", "Expired"},
	"status.notyet":             {"未生效", "Not yet valid"},
	"type.string":               {"字符串", "text"},
	"type.integer":              {"整数", "integer"},
	"type.decimal":              {"小数", "decimal"},
	"type.date":                 {"日期", "date"},
	"type.datetime":             {"日期时间", "date and time"},
	"type.boolean":              {"布尔", "yes/no"},
	"mask.none":                 {"不脱敏", "none"},
	"mask.name":                 {"姓名脱敏", "name"},
	"mask.mobile":               {"手机号脱敏", "mobile"},
	"mask.phone":                {"电话脱敏", "phone"},
	"mask.id_number":            {"证件号脱敏", "ID number"},
	"mask.address":              {"地址脱敏", "address"},
	"mask.bank_card":            {"银行卡脱敏", "bank card"},
	"mask.email":                {"邮箱脱敏", "email"},
	"mask.plate":                {"车牌脱敏", "plate"},
	"mask.hash":                 {"哈希", "keyed hash"},
	"mask.redact":               {"屏蔽", "redacted"},
	"cycle.realtime":            {"实时", "real time"},
	"cycle.hourly":              {"每小时", "hourly"},
	"cycle.daily":               {"每日", "daily"},
	"cycle.weekly":              {"每周", "weekly"},
	"cycle.monthly":             {"每月", "monthly"},
	"cycle.quarterly":           {"每季度", "quarterly"},
	"cycle.semiannual":          {"每半年", "half-yearly"},
	"cycle.yearly":              {"每年", "yearly"},
	"cycle.irregular":           {"不定期", "irregular"},
	"requests.title":            {"共享申请", "Data requests"},
	"requests.inbox":            {"待我审批", "Inbox"},
	"requests.outbox":           {"我的申请", "Outbox"},
	"requests.region":           {"本省超期", "Region overdue"},
	"requests.all":              {"全部", "All"},
	"requests.empty":            {"没有申请。", "No requests."},
	"requests.resource":         {"资源", "Resource"},
	"requests.consumer":         {"申请方", "Consumer"},
	"requests.fields":           {"信息项", "Fields"},
	"requests.fields.asked":     {"申请信息项", "Fields asked"},
	"requests.fields.approved":  {"批准信息项", "Fields approved"},
	"res.request.agreementlink": {"查看协议", "See the agreement"},
	"requests.purpose":          {"用途", "Purpose"},
	"requests.legal":            {"依据", "Legal basis"},
	"requests.period":           {"有效期", "Period"},
	"requests.filed":            {"申请时间", "Filed"},
	"requests.due":              {"答复期限", "Reply by"},
	"requests.left":             {"剩余 %d 个工作日", "%d working days left"},
	"requests.overdue":          {"已超期", "Overdue"},
	"requests.approve":          {"批准", "Approve"},
	"requests.reject":           {"驳回", "Reject"},
	"requests.reason":           {"驳回理由", "Reason"},
	"requests.narrow":           {"可缩小信息项与有效期", "You may narrow the fields and the period"},
	"requests.approved":         {"已批准申请 %s，协议 %s 已生效。", "Request %s approved; agreement %s is in force."},
	"requests.rejectedmsg":      {"已驳回申请 %s。", "Request %s rejected."},
	"requests.reason.need":      {"请填写驳回理由。", "Give a reason for the rejection."},
	"requests.decided":          {"处理结果", "Decision"},
	"requests.notifications":    {"通知", "Notifications"},
	"notify.request_remind":     {"%s 催办共享申请 %s（%s），答复期限 %s。", "%s chases request %s (%s), to be answered by %s."},
	"requests.remind":           {"催办", "Chase"},
	"requests.remind.note":      {"提醒提供方数据管理员尽快答复（每个工作日至多一次，留痕）。", "Remind the provider's stewards to answer (at most once a working day; recorded on the ledger)."},
	"requests.reminded":         {"已催办申请 %s，提供方数据管理员将收到通知。", "Request %s chased; the provider's stewards are notified."},
	"notify.request_overdue":    {"共享申请 %s（%s 申请 %s）已超过答复期限 %s，仍未处理。", "Request %s by %s for %s passed its reply limit of %s undecided."},
	"requests.overdueonly":      {"仅看超期", "Overdue only"},
	"requests.agreement":        {"协议", "Agreement"},
	"requests.masking":          {"脱敏", "Masking"},
	"requests.masking.item":     {"按信息项规则", "As the item says"},
	"requests.rowsperday":       {"每日行数上限", "Rows a day"},
	"requests.perminute":        {"每分钟调用上限", "Calls a minute"},
	"requests.limit.bad":        {"“%s”不是正整数。", "%q is not a positive whole number."},
	"requests.conditions":       {"共享条件", "Share conditions"},
	"requests.others":           {"申请方已有本部门协议", "The consumer's other agreements with us"},
	"chart.table":               {"查看数据表", "Show the data"},
	"chart.day":                 {"日期", "Day"},
	"chart.hour":                {"时间", "Hour"},
	"chart.from":                {"提供方所在省（市）", "From (provider)"},
	"chart.to":                  {"使用方所在省（市）", "To (consumer)"},
	"chart.weight":              {"权重", "Weight"},
	"chart.city":                {"城市", "City"},
	"chart.band":                {"级别", "Band"},
	"nav.cockpit":               {"驾驶舱", "Cockpit"},
	"cockpit.title":             {"领导驾驶舱", "Leaders' cockpit"},
	"cockpit.note":              {"待审批与超期申请、本月（%s）按期答复率、省际供需与贡献排名；范围按您的角色：数据管理员看本部门，省级管理员看本省，平台看全部。", "Pending and overdue requests, on-time replies this month (%s), supply and demand between provinces, the contribution ranking; scoped by your role: a steward sees the department, a region admin the province, the platform all."},
	"cockpit.pending":           {"待审批", "Pending"},
	"cockpit.overdue":           {"已超期", "Overdue"},
	"cockpit.ontime":            {"按期答复率", "On time"},
	"cockpit.ontime.sub":        {"%d / %d 件到期申请", "%d of %d requests due"},
	"cockpit.approvals":         {"各部门审批情况", "Approvals by department"},
	"cockpit.province":          {"省（市）", "Province"},
	"cockpit.none":              {"没有待审批或到期的申请。", "No pending or due requests."},
	"cockpit.matrix":            {"省际供需矩阵", "Supply and demand between provinces"},
	"cockpit.matrix.note":       {"近 30 天各省（市）提供给各省（市）的交换次数", "Exchange calls of the last 30 days from each providing province to each consuming one"},
	"cockpit.ranking":           {"本月贡献排名", "Contribution ranking this month"},
	"import.title":              {"导入数据", "Import rows"},
	"import.note":               {"上传 CSV（首行为信息项名称，UTF-8 或 GB18030）或 NDJSON 文件；逐行校验，任何一行有错则整批不导入，并列出每行的错误。", "Upload a CSV file (a header row of item names, UTF-8 or GB18030) or NDJSON; every row is checked, and if any is wrong nothing is imported and each error is listed by row."},
	"import.mode":               {"方式", "Mode"},
	"import.append":             {"追加", "Append"},
	"import.replace":            {"替换全部", "Replace all"},
	"import.file":               {"文件", "File"},
	"import.submit":             {"导入", "Import"},
	"import.row":                {"行", "Row"},
	"import.field":              {"信息项", "Item"},
	"import.rule":               {"规则", "Rule"},
	"import.message":            {"说明", "Problem"},
	"import.done":               {"已导入 %s 行，现共 %s 行。", "%s rows imported; %s rows held now."},
	"import.nofile":             {"请选择要导入的文件。", "Choose a file to import."},
	"import.kind":               {"文件 %q 不是 CSV 或 NDJSON（.csv、.txt、.ndjson、.jsonl）。", "File %q is not CSV or NDJSON (.csv, .txt, .ndjson, .jsonl)."},
	"feedback.chart":            {"按使用部门统计的调用与拒绝次数", "Calls and refusals by consumer department"},
	"feedback.byconsumer":       {"按使用部门", "By consumer"},
	"feedback.byresource":       {"按资源", "By resource"},
	"feedback.total":            {"合计", "Total"},
	"feedback.export":           {"导出明细", "Export the lines"},
	"feedback.export.sub":       {"含全部 %d 条存证编号", "with all %d ledger entries"},
	"feedback.all":              {"全部 %d 条", "all %d"},
	"catimport.title":           {"导入目录表", "Import a catalog sheet"},
	"catimport.note":            {"上传政务信息资源目录表（CSV 或 XLSX，XLSX 含“信息项”工作表）；逐行校验，任何一行有错则整表不导入，并按表格行号列出每个错误。", "Upload a catalog sheet (CSV or XLSX, an XLSX with its items sheet); every row is checked, and if any is wrong nothing is published and each problem is listed at its sheet row."},
	"catimport.forbidden":       {"只有数据管理员和管理员可以发布资源。", "Only stewards and admins publish resources."},
	"catimport.kind":            {"文件 %q 不是 CSV 或 XLSX。", "File %q is not CSV or XLSX."},
	"catimport.done":            {"已发布 %d 个资源：", "%d resources published:"},
	"catimport.link":            {"导入目录表", "Import a catalog sheet"},
	"publish.title":             {"发布资源", "Publish a resource"},
	"publish.edit":              {"编辑资源", "Edit resource"},
	"publish.code":              {"资源代码", "Resource code"},
	"publish.name_en":           {"英文名称", "English name"},
	"publish.items":             {"信息项（每行一个：名称 | 数据元 | 脱敏 | 必填）", "Items (one a line: name | data element | masking | 必填 for required)"},
	"publish.elements":          {"可用数据元", "Data elements"},
	"publish.submit":            {"发布", "Publish"},
	"publish.save":              {"保存", "Save"},
	"publish.level":             {"请选择分级（1–4）。", "Choose a level (1–4)."},
	"publish.notyours":          {"只有提供部门的数据管理员或管理员可以编辑此资源。", "Only the providing department's stewards or admins edit this resource."},
	"publish.link":              {"发布资源", "Publish a resource"},
	"publish.editlink":          {"编辑", "Edit"},
	"cockpit.alerts":            {"未处理告警", "Open alerts"},
	"cockpit.alerts.sub":        {"其中高危 %d 条", "%d high or critical"},
	"cockpit.apps":              {"跨省通办办件", "Cross-province applications"},
	"cockpit.apps.sub":          {"超期 %d 件", "%d overdue"},
	"cockpit.services":          {"跨省通办事项办理量", "Cross-province services"},
	"cockpit.service":           {"事项", "Service"},
	"cockpit.decided":           {"已办结", "Decided"},
	"agreement.title":           {"共享协议", "Agreement"},
	"agreement.fields":          {"信息项与脱敏", "Items and masking"},
	"agreement.scope":           {"数据范围", "Row scope"},
	"agreement.scope.all":       {"全部数据行", "All rows"},
	"agreement.limits":          {"使用限额", "Limits"},
	"agreement.limits.text":     {"每日 %s 行，每分钟 %d 次调用，每日 %d 次脱敏字段精确查询", "%s rows a day, %d calls a minute, %d equality filters on masked fields a day"},
	"agreement.used":            {"今日已用", "Used today"},
	"agreement.used.text":       {"%s / %s 行，%d / %d 次脱敏字段查询", "%s of %s rows, %d of %d masked-field filters"},
	"agreement.call":            {"如何调用", "How to call"},
	"agreement.call.note":       {"在“协议与密钥”页创建应用密钥（只显示一次），放入环境变量 HUTONG_KEY；用途须与协议一致。每次调用都记入存证账本并返回回执。", "Create an application key on the Agreements & keys page (shown once) and put it in HUTONG_KEY; the purpose must be the agreement's. Every call is recorded on the ledger and answered with a receipt."},
	"agreement.copy":            {"复制", "Copy"},
	"agreement.data":            {"预览与导出", "Preview and export"},
	"agreement.data.note":       {"按协议取数：仅协议信息项，按约定脱敏；预览与导出同 API 调用一样计入限额并存证。", "Data as the agreement allows: its items only, masked as agreed; a preview or export counts against the limits and is recorded like an API call."},
	"agreement.preview":         {"预览前 10 行", "Preview 10 rows"},
	"agreement.preview.none":    {"没有符合协议的数据行。", "No rows within the agreement."},
	"agreement.export":          {"导出", "Export"},
	"agreement.receipt":         {"存证回执", "Receipt"},
	"agreement.policy":          {"策略（Cedar）", "Policy (Cedar)"},
	"agreements.title":          {"共享协议", "Agreements"},
	"agreements.consumed":       {"本部门使用的协议", "Agreements we consume"},
	"agreements.provided":       {"本部门提供的协议", "Agreements we provide"},
	"agreements.all":            {"全部协议", "All agreements"},
	"agreements.empty":          {"暂无协议。", "No agreements."},
	"agreements.id":             {"协议编号", "Agreement"},
	"agreements.provider":       {"提供方", "Provider"},
	"agreements.valid":          {"有效期", "Valid"},
	"agreements.revoke":         {"撤销", "Revoke"},
	"agreements.revoke.reason":  {"撤销原因", "Reason for revoking"},
	"agreements.revoked":        {"协议 %s 已撤销。", "Agreement %s revoked."},
	"keys.title":                {"应用密钥", "Application keys"},
	"keys.note":                 {"业务系统以应用密钥调用共享接口。密钥只显示一次，请妥善保存。", "Systems call the exchange with an application key. A key is shown once; keep it safe."},
	"keys.name":                 {"密钥名称", "Key name"},
	"keys.create":               {"创建密钥", "Create key"},
	"keys.created":              {"新密钥（只显示这一次）：", "New key (shown only this once):"},
	"keys.revoke":               {"吊销", "Revoke"},
	"keys.revoked":              {"已吊销", "Revoked"},
	"keys.active":               {"有效", "Active"},
	"keys.empty":                {"本部门还没有应用密钥。", "Your department has no application key."},
	"keys.nodept":               {"应用密钥属于部门，平台用户没有。", "Keys belong to departments; platform users have none."},
	"keys.name.need":            {"请填写密钥名称。", "Give the key a name."},
	"nav.contributions":         {"贡献核算", "Contributions"},
	"contrib.title":             {"数据贡献核算", "Data contribution accounts"},
	"contrib.note":              {"按月核算各提供部门的贡献：资源按更新周期保持更新、被调用次数与数据行数、使用部门数、按期答复申请；每项数字可在使用反馈与存证核验中逐条核对。", "Each providing department's contribution by month: resources kept current by their update cycle, calls and rows served, consumer departments, requests answered in time; every figure can be checked entry by entry in the feedback and the ledger."},
	"contrib.month":             {"月份", "Month"},
	"contrib.formula":           {"计分公式", "Formula"},
	"contrib.rank":              {"排名", "Rank"},
	"contrib.score":             {"得分", "Score"},
	"contrib.resources":         {"保持更新 / 资源", "Current / resources"},
	"contrib.calls":             {"被调用次数", "Calls"},
	"contrib.rows":              {"提供行数", "Rows served"},
	"contrib.consumers":         {"使用部门", "Consumers"},
	"contrib.ontime":            {"按期答复 / 到期申请", "On time / due"},
	"contrib.fill":              {"数据填充率（不计分）", "Fill rate (not scored)"},
	"contrib.statement":         {"月度对账单", "Monthly statement"},
	"contrib.empty":             {"本月没有可见的提供部门。", "No providing department to show for this month."},
	"feedback.title":            {"共享情况反馈", "Sharing feedback"},
	"feedback.note":             {"本部门资源被谁使用、使用了哪些信息项、用途与次数；每行可核验其存证。", "Who used your department's resources, which fields, for what purpose and how often; each line links to its ledger proof."},
	"feedback.day":              {"日期", "Day"},
	"feedback.calls":            {"调用", "Calls"},
	"feedback.refused":          {"拒绝", "Refused"},
	"feedback.rows":             {"数据条数", "Rows"},
	"feedback.proof":            {"存证", "Proof"},
	"feedback.empty":            {"该期间没有使用记录。", "No use in this period."},
	"feedback.choose":           {"请选择提供方部门。", "Choose the providing department."},
	"feedback.entries":          {"第 %s 条", "entry %s"},
	"proof.title":               {"存证核验", "Ledger and receipts"},
	"proof.checkpoint":          {"最新检查点", "Latest checkpoint"},
	"proof.size":                {"日志条目数", "Entries"},
	"proof.witnesses":           {"见证方联署", "Witness cosignatures"},
	"proof.raw":                 {"签名检查点原文", "Signed checkpoint note"},
	"proof.lookup":              {"回执核验", "Verify a receipt"},
	"proof.index":               {"条目序号", "Entry index"},
	"proof.verify":              {"核验", "Verify"},
	"proof.ok":                  {"✓ 已核验：第 %s 条已收录于规模为 %s 的检查点，见证方 %s 已联署。", "✓ Verified: entry %s is included in the checkpoint of size %s, cosigned by %s."},
	"proof.bad":                 {"✗ 核验失败：%s", "✗ Not verified: %s"},
	"proof.event":               {"事件", "Event"},
	"proof.time":                {"时间", "Time"},
	"proof.kind":                {"类型", "Kind"},
	"proof.actor":               {"操作者", "Actor"},
	"proof.rows":                {"数据条数", "Rows"},
	"proof.decision":            {"结论", "Decision"},
	"proof.reason":              {"说明", "Reason"},
	"proof.index.invalid":       {"条目序号须为非负整数。", "The entry index must be a non-negative whole number."},
	"proof.note":                {"核验在平台上按公开的日志文件与公钥完成，与外部核验者所做相同。", "The hub checks the entry from the public log files and keys alone, as an outside verifier would."},
	"proof.sealed":              {"第 %s 条存证已收录于日志；其内容仅对当事方（使用方与提供方部门、所在地区管理员、审计员）可见，公开日志中只有其承诺值。", "Entry %s is in the log; what it says is for its parties alone (the consumer and provider departments, their region administrators, auditors): the public log holds only its commitment."},
	"proof.browser":             {"在本浏览器中核验", "Checked in this browser"},
	"proof.browser.note":        {"本浏览器下载证明包，用 Web Crypto（Ed25519、SHA-256）独立核验签名、联署、承诺与收录证明，不依赖平台的判断；上方平台的核验结果作为第二意见。", "This browser downloads the proof bundle and checks the signatures, cosignatures, commitment and inclusion proof itself with Web Crypto (Ed25519, SHA-256), relying on nothing the hub concluded; the hub's own check above is a second opinion."},
	"proof.bundle":              {"下载证明包", "Download the proof bundle"},
	"proof.bundle.note":         {"证明包可在任何地方离线核验：", "Anyone can check the bundle offline:"},
	"proof.js.keys":             {"公钥：日志 {origin}，{n} 个见证方，法定数 {q}。公钥随证明包由平台提供，请与另行获取的 /ledger/keys 副本比对。", "Keys: log {origin}, {n} witnesses, quorum {q}. They come with the bundle from the hub: compare them with a copy of /ledger/keys obtained otherwise."},
	"proof.js.origin":           {"检查点属于另一日志：{origin}", "The checkpoint is of another log: {origin}"},
	"proof.js.size":             {"检查点规模与证明不符", "The checkpoint's size does not match the proof's"},
	"proof.js.logbad":           {"检查点的日志签名无效", "The log's signature on the checkpoint does not verify"},
	"proof.js.log":              {"检查点由日志密钥签名（{size} 条）", "The checkpoint ({size} entries) is signed by the log's key"},
	"proof.js.quorum":           {"{total} 个地区中已有 {count} 个确认：{names}", "{count} of {total} regions confirmed: {names}"},
	"proof.js.quorumshort":      {"{total} 个地区中仅 {count} 个确认（{names}），未达法定数 {q}", "Only {count} of {total} regions confirmed ({names}), short of the quorum of {q}"},
	"proof.js.province":         {"数据所属省份（{name}）已联署", "The province whose data was read ({name}) cosigned"},
	"proof.js.provincemissing":  {"数据所属省份（{name}）未联署此检查点（其见证方可能暂不可用）", "The province whose data was read ({name}) did not cosign this checkpoint (its witness may be down)"},
	"proof.js.opening":          {"条目与盐值可打开日志中的承诺", "The entry and its salt open the log's commitment"},
	"proof.js.openingbad":       {"条目或盐值与承诺不符：已被改动", "The entry or its salt does not match the commitment: it was changed"},
	"proof.js.inclusion":        {"承诺收录于检查点第 {index} 条（审计路径 {n} 个哈希）", "The commitment is entry {index} of the checkpoint (an audit path of {n} hashes)"},
	"proof.js.inclusionbad":     {"收录证明不成立：承诺不在检查点中", "The inclusion proof fails: the commitment is not in the checkpoint"},
	"proof.js.ok":               {"✓ 本浏览器核验通过", "✓ Verified in this browser"},
	"proof.js.bad":              {"✗ 本浏览器核验未通过：{why}", "✗ Not verified in this browser: {why}"},
	"proof.js.failed":           {"见下列各项", "see the checks below"},
	"proof.js.insecure":         {"Web Crypto 仅在安全上下文（HTTPS 或 localhost）中可用，此页无法在本浏览器中核验。请下载证明包，用 hutong verify bundle 离线核验。", "Web Crypto needs a secure context (HTTPS or localhost), so this page cannot check the bundle here. Download it and check it with hutong verify bundle."},
	"proof.js.running":          {"正在核验…", "Checking…"},
	"proof.js.fetch":            {"无法下载证明包（HTTP {status}）", "Could not download the bundle (HTTP {status})"},
	"proof.js.format":           {"不是可打开的证明包", "Not a proof bundle with an entry to open"},
	"proof.js.sep":              {"、", ", "},
	"env.title":                 {"京津冀空气质量对比", "Jing-Jin-Ji air quality compared"},
	"env.note":                  {"按城市统计所选期间的平均 AQI（HJ 633-2012）；污染热点为 AQI 高于阈值累计达到指定小时数的城市。", "Mean AQI (HJ 633-2012) per city over the period; hot spots are cities whose AQI stayed above the threshold for the given hours."},
	"env.threshold":             {"AQI 阈值", "AQI threshold"},
	"env.minhours":              {"最少小时数", "Minimum hours"},
	"env.map":                   {"平均 AQI", "Mean AQI"},
	"env.city":                  {"城市", "City"},
	"env.mean":                  {"平均 AQI", "Mean AQI"},
	"env.max":                   {"最高 AQI", "Max AQI"},
	"env.readings":              {"监测记录", "Readings"},
	"env.hours":                 {"超标小时", "Hours above"},
	"env.hotspots":              {"污染热点", "Hot spots"},
	"env.hotspot":               {"热点", "hot spot"},
	"env.nohotspot":             {"该期间没有城市达到热点条件。", "No city was a hot spot in this period."},
	"env.sources":               {"数据来源：%s；本次统计已存证（第 %s 条）。", "Computed from %s; the computation is on the ledger (entry %s)."},
	"env.period":                {"统计期间：%s 至 %s", "Period: %s to %s"},
	"env.invalid.date":          {"日期格式应为 YYYY-MM-DD。", "Dates are YYYY-MM-DD."},
	"env.invalid.number":        {"阈值与小时数须为整数。", "The threshold and hours are whole numbers."},
	"live.title":                {"实时空气质量（监测站点 HJ 212 上报）", "Live air quality (stations reporting over HJ 212)"},
	"live.note":                 {"各城市最新一小时 AQI（HJ 633-2012 实时报，站点浓度取均值）与 24 小时 AQI；热点为 AQI 高出相邻城市均值 %s 以上且高于本市 7 日基线的城市。", "Each city's latest hourly AQI (HJ 633-2012, stations' concentrations averaged) and 24-hour AQI; a hot spot is a city more than %s above its neighbours' mean and above its own 7-day baseline."},
	"live.asof":                 {"数据截至 %s", "Data as of %s"},
	"live.latest":               {"最新", "latest"},
	"live.slider":               {"时间", "Time"},
	"live.hour":                 {"时段", "Hour"},
	"live.aqi":                  {"小时 AQI", "Hourly AQI"},
	"live.primary":              {"首要污染物", "Primary pollutant"},
	"live.daily":                {"24 小时 AQI", "24-hour AQI"},
	"live.neighbours":           {"相邻城市均值", "Neighbours' mean"},
	"live.episodes":             {"跨界污染过程", "Cross-border episodes"},
	"live.episode":              {"%s（AQI %d，%s）与 %s（AQI %d，%s）在 3 小时内均超过 %d", "%s (AQI %d, %s) and %s (AQI %d, %s) both above %d within 3 hours"},
	"live.noepisode":            {"暂无跨界污染过程。", "No cross-border episode."},
	"live.empty":                {"尚无监测站点上报数据。", "No station has reported yet."},
	"pollutant.a21026":          {"二氧化硫", "SO2"},
	"pollutant.a21004":          {"二氧化氮", "NO2"},
	"pollutant.a21005":          {"一氧化碳", "CO"},
	"pollutant.a05024":          {"臭氧", "O3"},
	"pollutant.a34002":          {"PM10", "PM10"},
	"pollutant.a34004":          {"PM2.5", "PM2.5"},
	"notify.air_episode":        {"跨界污染过程：%s（AQI %s）与 %s（AQI %s）在 3 小时内均超过 %s，始于 %s。", "Cross-border air pollution episode: %s (AQI %s) and %s (AQI %s) both above %s within 3 hours, from %s."},
	"aqi.good":                  {"优", "Good"},
	"aqi.moderate":              {"良", "Moderate"},
	"aqi.light":                 {"轻度污染", "Lightly polluted"},
	"aqi.medium":                {"中度污染", "Moderately polluted"},
	"aqi.heavy":                 {"重度污染", "Heavily polluted"},
	"aqi.severe":                {"严重污染", "Severely polluted"},
}

// langOf returns a supported language for s, or "".
func langOf(s string) string {
	switch strings.ToLower(s) {
	case "zh", "zh-cn", "zh-hans", "cn":
		return langZh
	case "en", "en-us", "en-gb":
		return langEn
	}
	return ""
}

// translate returns message id in lang, formatted with args. An unknown id
// is returned as it is, so a missing translation shows rather than breaks
// the page (a test keeps the table complete).
func translate(lang, id string, args ...any) string {
	m, ok := messages[id]
	if !ok {
		return id
	}
	s := m[0]
	if lang == langEn {
		s = m[1]
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// formatInt writes n with thousands separators: 12,345.
func formatInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// formatNumber writes an integer or a float with thousands separators and
// at most one decimal.
func formatNumber(v any) string {
	switch x := v.(type) {
	case int:
		return formatInt(int64(x))
	case int64:
		return formatInt(x)
	case uint64:
		if x > math.MaxInt64 {
			return strconv.FormatUint(x, 10)
		}
		return formatInt(int64(x))
	case float64:
		r := math.Round(x*10) / 10
		whole := math.Trunc(r)
		s := formatInt(int64(whole))
		if frac := math.Abs(r - whole); frac > 1e-9 {
			s += "." + strconv.Itoa(int(math.Round(frac*10)))
		}
		return s
	}
	return fmt.Sprint(v)
}

var monthsEn = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// formatDate writes a day in China Standard Time: 2026年11月2日 or 2 Nov 2026.
func formatDate(lang string, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(hutong.ChinaTime)
	if lang == langEn {
		return fmt.Sprintf("%d %s %d", t.Day(), monthsEn[t.Month()-1], t.Year())
	}
	return fmt.Sprintf("%d年%d月%d日", t.Year(), int(t.Month()), t.Day())
}

// formatDateTime writes a time in China Standard Time to the minute.
func formatDateTime(lang string, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return formatDate(lang, t) + " " + t.In(hutong.ChinaTime).Format("15:04")
}

// formatDay formats a YYYY-MM-DD day as formatDate does; other text is
// returned as it is.
func formatDay(lang, day string) string {
	t, err := time.ParseInLocation(time.DateOnly, day, hutong.ChinaTime)
	if err != nil {
		return day
	}
	return formatDate(lang, t)
}

// shortDay writes a day for a chart axis: 11月2日 or 2 Nov.
func shortDay(lang string, t time.Time) string {
	t = t.In(hutong.ChinaTime)
	if lang == langEn {
		return fmt.Sprintf("%d %s", t.Day(), monthsEn[t.Month()-1])
	}
	return fmt.Sprintf("%d月%d日", int(t.Month()), t.Day())
}

// shortHour writes an hour for a chart axis: 11月2日 14时 or 2 Nov 14:00.
func shortHour(lang string, t time.Time) string {
	t = t.In(hutong.ChinaTime)
	if lang == langEn {
		return fmt.Sprintf("%s %02d:00", shortDay(lang, t), t.Hour())
	}
	return fmt.Sprintf("%s %d时", shortDay(lang, t), t.Hour())
}

// serviceMessages are the strings of cross-province services' pages
// (services.go), merged into messages.
var serviceMessages = map[string][2]string{
	"nav.services":                     {"跨省通办", "Cross-province services"},
	"nav.mydata":                       {"我的数据使用记录", "My data, who used it"},
	"role.applicant":                   {"申请人", "Applicant"},
	"role.window_officer":              {"窗口受理人员", "Window officer"},
	"role.handling_officer":            {"办理人员", "Handling officer"},
	"svc.title":                        {"跨省通办", "Cross-province services"},
	"svc.note":                         {"一次申请，材料由各地部门经共享交换获取，仅取申请人本人的数据，您确认后才提交办理部门。", "One application: each region's department provides the evidence through the governed exchange, only the applicant's own rows, and the handling department sees it only after you confirm it."},
	"svc.mine":                         {"我的申请", "My applications"},
	"svc.handled":                      {"待办与已办", "Applications to handle"},
	"svc.receiving":                    {"受理（代收）", "Received by"},
	"svc.handling":                     {"办理", "Decided by"},
	"svc.limit":                        {"承诺时限", "Time limit"},
	"svc.days":                         {"%d 个工作日", "%d working days"},
	"svc.evidence":                     {"所需材料", "Evidence"},
	"svc.basis":                        {"依据", "Legal basis"},
	"svc.apply":                        {"申请办理", "Apply"},
	"svc.file":                         {"代为申请", "File for the applicant"},
	"svc.filed":                        {"已受理申请 %s，请申请人确认材料。", "Application %s filed; the applicant confirms the evidence."},
	"svc.idkind":                       {"证件类型", "Identifier"},
	"svc.idnumber":                     {"证件号码", "Number"},
	"svc.citizen":                      {"公民身份号码", "Citizen identity number"},
	"svc.uscc":                         {"统一社会信用代码", "Unified social credit code"},
	"svc.empty":                        {"暂无跨省通办事项。", "No cross-province services yet."},
	"svc.replyby":                      {"办结期限", "Decision due"},
	"svc.daysleft":                     {"剩余 %d 个工作日（%s 前）", "%d working days left (by %s)"},
	"svc.overdue":                      {"已超期（期限 %s）", "Overdue (due %s)"},
	"app.title":                        {"申请详情", "Application"},
	"app.status.gathering":             {"材料获取中", "Gathering evidence"},
	"app.status.awaiting_confirmation": {"待本人确认", "Awaiting your confirmation"},
	"app.status.submitted":             {"办理中", "Being handled"},
	"app.status.approved":              {"已办结（准予）", "Approved"},
	"app.status.returned":              {"退回补正", "Returned for more"},
	"app.status.refused":               {"不予办理", "Refused"},
	"app.status.withdrawn":             {"已撤回", "Withdrawn"},
	"app.evidence.fetched":             {"待确认", "To confirm"},
	"app.evidence.confirmed":           {"已确认", "Confirmed"},
	"app.evidence.withdrawn":           {"已撤回", "Withdrawn"},
	"app.evidence.failed":              {"获取失败", "Not obtained"},
	"app.preview":                      {"请逐项核对以下材料：确认后才会提交办理部门；撤回的材料立即删除。", "Check each piece below: only what you confirm reaches the handling department; a piece you withdraw is deleted."},
	"app.from":                         {"来源：%s（%s）", "From %s (%s)"},
	"app.proof":                        {"存证 #%d", "Proof #%d"},
	"app.norows":                       {"未查到相关记录。", "No records found."},
	"app.notyet":                       {"申请人确认后可见。", "Visible once the applicant confirms it."},
	"app.confirm":                      {"确认使用", "Confirm"},
	"app.withdraw":                     {"撤回", "Withdraw"},
	"app.decide":                       {"办理决定", "Decision"},
	"app.decision":                     {"决定", "Decision"},
	"app.decision.approve":             {"准予办理", "Approve"},
	"app.decision.return":              {"退回补正", "Return for more"},
	"app.decision.refuse":              {"不予办理", "Refuse"},
	"app.reason":                       {"理由（退回或不予办理时必填）", "Reason (required to return or refuse)"},
	"app.submit":                       {"提交决定", "Record the decision"},
	"app.done.confirm":                 {"已确认该材料。", "Evidence confirmed."},
	"app.done.withdraw":                {"已撤回该材料，其数据已删除。", "Evidence withdrawn; its rows are deleted."},
	"app.done.decision":                {"已记录办理决定。", "Decision recorded."},
	"mydata.title":                     {"我的数据使用记录", "My data, who used it"},
	"mydata.note":                      {"共享交换中每一次返回您本人数据的调用：时间、部门、字段、用途、协议与存证。仅凭您本人的证件号码查询。", "Every governed read that returned your rows: when, which department, which fields, for what purpose, under which agreement, with its proof. Looked up by your own identifier only."},
	"mydata.when":                      {"时间", "When"},
	"mydata.what":                      {"资源与字段", "Resource and fields"},
	"mydata.purpose":                   {"用途", "Purpose"},
	"mydata.proof":                     {"存证", "Proof"},
	"mydata.rows":                      {"%d 条", "%d rows"},
	"mydata.agreement":                 {"协议 %s", "Agreement %s"},
	"mydata.empty":                     {"暂无使用记录。", "No reads of your data yet."},
}

func init() {
	for id, m := range serviceMessages {
		messages[id] = m
	}
}
