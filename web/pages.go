package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/httperr"
)

// The dashboard's pages. Each reads through the services as the signed-in
// user, so the services' own checks decide what the user may see and do.

// maxListed bounds the resources one page reads to draw the tag cloud.
const maxListed = 5000

// allResources returns the catalog's resources matching f, up to maxListed.
func (d *Dashboard) allResources(r *http.Request, f hutong.ResourceFilter) ([]*hutong.Resource, int, error) {
	f.Limit = hutong.MaxPageSize
	var out []*hutong.Resource
	total := 0
	for len(out) < maxListed {
		page, err := d.Catalog.Resources(r.Context(), f)
		if err != nil {
			return nil, 0, err
		}
		total = page.Total
		out = append(out, page.Items...)
		if page.NextCursor == "" {
			break
		}
		f.Cursor = page.NextCursor
	}
	return out, total, nil
}

// startOfDay returns midnight China Standard Time of t's day.
func startOfDay(t time.Time) time.Time {
	c := t.In(hutong.ChinaTime)
	return time.Date(c.Year(), c.Month(), c.Day(), 0, 0, 0, 0, hutong.ChinaTime)
}

// overviewData is the overview page.
type overviewData struct {
	Resources, Departments, Agreements int
	AgreementsKnown                    bool
	Today, TodayRefused                int64
	StatsMissing                       bool
	Flows, Days, Hours, Tags           *chart
}

func (d *Dashboard) handleOverview(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	resources, total, err := d.allResources(r, hutong.ResourceFilter{})
	if err != nil {
		return err
	}
	depts, err := d.Directory.Departments(ctx, hutong.DepartmentFilter{})
	if err != nil {
		return err
	}
	data := &overviewData{Resources: total, Departments: len(depts)}
	if ags, err := d.Requests.Agreements(ctx, hutong.AgreementFilter{Active: true}); err == nil {
		data.Agreements, data.AgreementsKnown = len(ags), true
	}
	tags, err := d.Catalog.Tags(ctx)
	if err != nil {
		return err
	}
	calls := map[string]int64{}
	if d.Stats == nil {
		data.StatsMissing = true
	} else {
		now := time.Now()
		// 30 complete days and today (counted above, left out of the chart).
		act, err := d.Stats.Activity(ctx, hutong.ActivityFilter{From: startOfDay(now).AddDate(0, 0, -30), To: now})
		if err != nil {
			return err
		}
		if n := len(act.Days); n > 0 {
			data.Today, data.TodayRefused = act.Days[n-1].Calls, act.Days[n-1].Refused
		}
		calls = act.Resources
		flows, days, hours := d.flowsChart(v, act.Flows), daysChart(v, act.Days), hoursChart(v, act.Hours)
		data.Flows, data.Days, data.Hours = &flows, &days, &hours
	}
	cloud := tagCloud(v, tags, resources, calls)
	data.Tags = &cloud
	v.Title, v.Data = "overview.title", data
	return d.render(w, v, http.StatusOK, "overview", "")
}

// catalogData is the catalog page and its results fragment.
type catalogData struct {
	Query             url.Values
	Regions           []hutong.Region
	Tags              []hutong.TagCount
	Page              *hutong.ResourcePage
	NextURL, FirstURL string
	Paged             bool
	ShareTypes        []hutong.ShareType
	Levels            []int
}

func (d *Dashboard) handleCatalog(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	q := r.URL.Query()
	f := hutong.ResourceFilter{Query: strings.TrimSpace(q.Get("q")), Tag: q.Get("tag"), Region: q.Get("region"), Cursor: q.Get("cursor")}
	if st := q.Get("share_type"); st != "" {
		t, ok := hutong.ParseShareType(st)
		if !ok {
			return hutong.Errorf(hutong.EINVALID, "share type %q is not one of unconditional, conditional, none", st)
		}
		f.ShareType = t
	}
	if l := q.Get("level"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 4 {
			return hutong.Errorf(hutong.EINVALID, "level %q must be 1 to 4", l)
		}
		f.Level = n
	}
	page, err := d.Catalog.Resources(ctx, f)
	if hutong.ErrorCode(err) == hutong.EINVALID && f.Cursor != "" {
		f.Cursor = "" // a stale cursor: start again
		page, err = d.Catalog.Resources(ctx, f)
	}
	if err != nil {
		return err
	}
	data := &catalogData{Query: q, Page: page, Paged: f.Cursor != "",
		ShareTypes: []hutong.ShareType{hutong.ShareUnconditional, hutong.ShareConditional, hutong.ShareNone}, Levels: []int{1, 2, 3, 4}}
	base := url.Values{}
	for _, k := range []string{"q", "tag", "region", "share_type", "level"} {
		if q.Get(k) != "" {
			base.Set(k, q.Get(k))
		}
	}
	data.FirstURL = "/catalog?" + base.Encode()
	if page.NextCursor != "" {
		next := url.Values{}
		for k, vs := range base {
			next[k] = vs
		}
		next.Set("cursor", page.NextCursor)
		data.NextURL = "/catalog?" + next.Encode()
	}
	v.Title, v.Data = "catalog.title", data
	if isHTMX(r) && r.Header.Get("HX-Target") == "results" {
		return d.render(w, v, http.StatusOK, "catalog", "results")
	}
	if data.Regions, err = d.Directory.Regions(ctx, hutong.RegionFilter{}); err != nil {
		return err
	}
	if data.Tags, err = d.Catalog.Tags(ctx); err != nil {
		return err
	}
	return d.render(w, v, http.StatusOK, "catalog", "")
}

// resourceData is a resource's page.
type resourceData struct {
	R           *hutong.Resource
	Elements    map[string]hutong.Element
	Quality     []hutong.ItemQuality
	QualityNote string // message id when there is no quality to show
	CanRequest  bool
	RequestNote string // message id (or text) when the form is not shown
	Form        requestForm
	Result      *hutong.Request
	// CanImport: the user may import rows into this hub-hosted resource;
	// Import is the report of the import just made.
	CanImport bool
	Import    *importReport
	CanEdit   bool
}

// requestForm is the "request access" form as filled in.
type requestForm struct {
	Fields                          []string
	Purpose, LegalBasis, ValidUntil string
}

func (d *Dashboard) resourceData(r *http.Request, v *view, code string) (*resourceData, error) {
	ctx := r.Context()
	res, err := d.Catalog.Resource(ctx, code)
	if err != nil {
		return nil, err
	}
	els, err := d.Catalog.Elements(ctx)
	if err != nil {
		return nil, err
	}
	data := &resourceData{R: res, Elements: map[string]hutong.Element{}}
	for _, e := range els {
		data.Elements[e.ID] = e
	}
	switch {
	case d.Stats == nil:
		data.QualityNote = "common.unavailable"
	case res.Hosted == hutong.HostedNode:
		data.QualityNote = "res.quality.node"
	case res.Rows == 0:
		data.QualityNote = "res.quality.none"
	default:
		q, err := d.Stats.Quality(ctx, code)
		if err != nil {
			return nil, err
		}
		data.Quality = q
	}
	u := v.User
	switch {
	case res.ShareType == hutong.ShareNone:
		data.RequestNote = v.T("res.request.none", res.LegalBasis)
	case u.Department == "":
		data.RequestNote = v.T("res.request.nodept")
	case u.Department == res.Provider:
		data.RequestNote = v.T("res.request.own")
	case u.Has(hutong.RoleConsumer) || u.Has(hutong.RoleSteward):
		data.CanRequest = true
	default:
		data.RequestNote = v.T("res.request.nodept")
	}
	data.CanEdit = hutong.ActorFromContext(ctx).CanManage(res.Provider, res.Region)
	data.CanImport = d.Rows != nil && res.Hosted == hutong.HostedHub && data.CanEdit
	// 最小必要: no field is ticked until the consumer picks what it needs.
	data.Form.ValidUntil = time.Now().In(hutong.ChinaTime).AddDate(1, 0, 0).Format(time.DateOnly)
	return data, nil
}

func (d *Dashboard) handleResource(w http.ResponseWriter, r *http.Request, v *view) error {
	data, err := d.resourceData(r, v, r.PathValue("code"))
	if err != nil {
		return err
	}
	v.Title, v.Data = "catalog.title", data
	return d.render(w, v, http.StatusOK, "resource", "")
}

// handleRequestAccess files a request as the signed-in user and shows the
// result, or the form again with what is wrong.
func (d *Dashboard) handleRequestAccess(w http.ResponseWriter, r *http.Request, v *view) error {
	data, err := d.resourceData(r, v, r.PathValue("code"))
	if err != nil {
		return err
	}
	v.Title, v.Data = "catalog.title", data
	form := requestForm{Fields: r.PostForm["fields"], Purpose: strings.TrimSpace(r.PostFormValue("purpose")),
		LegalBasis: strings.TrimSpace(r.PostFormValue("legal_basis")), ValidUntil: strings.TrimSpace(r.PostFormValue("valid_until"))}
	data.Form = form
	status := http.StatusOK
	if len(form.Fields) == 0 {
		v.Error, status = v.T("res.request.mustfield"), http.StatusUnprocessableEntity
	} else {
		req, err := d.Requests.CreateRequest(r.Context(), &hutong.RequestInput{Resource: data.R.Code, Fields: form.Fields,
			Purpose: form.Purpose, LegalBasis: form.LegalBasis, ValidUntil: form.ValidUntil})
		switch code := hutong.ErrorCode(err); code {
		case "":
			data.Result = req
		case hutong.EINVALID, hutong.EFORBIDDEN, hutong.ECONFLICT, hutong.ENOTFOUND:
			v.Error, status = hutong.ErrorMessage(err), httperr.Status(code)
			if code == hutong.EINVALID {
				status = http.StatusUnprocessableEntity
			}
		default:
			return err
		}
	}
	block := ""
	if isHTMX(r) {
		block = "request-form"
	}
	return d.render(w, v, status, "resource", block)
}

// requestsData is the requests page.
type requestsData struct {
	Box, Status   string
	Boxes         []string
	OverdueOnly   bool
	Requests      []*hutong.Request
	Notifications []hutong.Notification
	CanDecide     bool
}

// requestCard is one request with what the user may do with it.
type requestCard struct {
	V         *view
	R         *hutong.Request
	CanDecide bool
	Error     string
	Fields    []string // the fields to show checked
	Until     string
	// Approved are the agreement's fields of an approved request, with
	// their masking: what the consumer got, which the steward may have
	// narrowed from what was asked.
	Approved []hutong.AgreementField
	// Context helps the steward decide a pending request: the resource's
	// share conditions and the consumer's agreements already with us.
	Context *decideContext
}

type decideContext struct {
	Conditions string
	Others     []*hutong.Agreement
}

// Card pairs a request with the page, for the card template.
func (v *view) Card(req *hutong.Request, canDecide bool) requestCard {
	c := requestCard{V: v, R: req, CanDecide: canDecide, Fields: req.Fields, Until: v.InputDay(req.ValidUntil)}
	if canDecide && req.Status == hutong.RequestPending && v.d.Requests != nil && v.d.Catalog != nil {
		ctx, dc := v.r.Context(), &decideContext{}
		if res, err := v.d.Catalog.Resource(ctx, req.Resource); err == nil {
			dc.Conditions = res.ShareConditions
		}
		if v.provided == nil {
			// Once per page, not once per card of the inbox.
			ags, err := v.d.Requests.Agreements(ctx, hutong.AgreementFilter{Role: "provider", Active: true})
			if err != nil {
				ags = nil
			}
			v.provided = append([]*hutong.Agreement{}, ags...)
		}
		for _, a := range v.provided {
			if a.Consumer == req.Consumer {
				dc.Others = append(dc.Others, a)
			}
		}
		c.Context = dc
	}
	if req.AgreementID != "" && v.d.Requests != nil {
		if ag, err := v.d.Requests.Agreement(v.r.Context(), req.AgreementID); err == nil {
			c.Approved = ag.Fields
		}
	}
	return c
}

func (d *Dashboard) boxes(u *hutong.User) []string {
	var out []string
	if u.Department != "" {
		if u.Has(hutong.RoleSteward) {
			out = append(out, "inbox")
		}
		out = append(out, "outbox")
	}
	if u.Has(hutong.RoleRegionAdmin) || u.Has(hutong.RoleAdmin) {
		out = append(out, "region")
	}
	if u.Has(hutong.RoleAdmin) || u.Has(hutong.RoleAuditor) {
		out = append(out, "all")
	}
	return out
}

func (d *Dashboard) handleRequests(w http.ResponseWriter, r *http.Request, v *view) error {
	q := r.URL.Query()
	data := &requestsData{Boxes: d.boxes(v.User), Box: q.Get("box"), Status: q.Get("status"), OverdueOnly: q.Get("overdue") != ""}
	if len(data.Boxes) == 0 {
		return hutong.Errorf(hutong.EFORBIDDEN, "requests belong to departments and region admins")
	}
	if !slices.Contains(data.Boxes, data.Box) {
		data.Box = data.Boxes[0]
	}
	f := hutong.RequestFilter{Box: data.Box, Status: hutong.RequestStatus(data.Status), Overdue: data.OverdueOnly, Limit: 200}
	switch data.Box {
	case "inbox":
		if data.Status == "" {
			f.Status, data.Status = hutong.RequestPending, string(hutong.RequestPending)
		}
	case "region":
		if q.Get("overdue") == "" && q.Get("status") == "" {
			f.Overdue, data.OverdueOnly = true, true
		}
	case "all":
		f.Box = ""
	}
	if data.Status == "any" {
		f.Status = ""
	}
	reqs, err := d.Requests.Requests(r.Context(), f)
	if err != nil {
		return err
	}
	data.Requests = reqs
	// Only the providing department's stewards decide (their inbox).
	data.CanDecide = data.Box == "inbox" && v.User.Has(hutong.RoleSteward)
	// Region admins see their province's notifications, stewards their
	// department's (overdue requests, the consumers' reminders).
	if v.User.Has(hutong.RoleRegionAdmin) || v.User.Has(hutong.RoleAdmin) || v.User.Has(hutong.RoleSteward) {
		if data.Notifications, err = d.Requests.Notifications(r.Context()); err != nil {
			return err
		}
	}
	v.Title, v.Data = "requests.title", data
	v.Flash = flashOf(v, q)
	return d.render(w, v, http.StatusOK, "requests", "")
}

// flashOf turns a redirect's query into a message (for browsers without
// JavaScript, which post the forms directly).
func flashOf(v *view, q url.Values) string {
	switch q.Get("done") {
	case "approved":
		return v.T("requests.approved", q.Get("id"), q.Get("agreement"))
	case "rejected":
		return v.T("requests.rejectedmsg", q.Get("id"))
	case "revoked":
		return v.T("agreements.revoked", q.Get("id"))
	}
	return ""
}

// decided answers a decision: an empty fragment (the card goes) with a
// message swapped in out of band for htmx, a redirect otherwise.
func (d *Dashboard) decided(w http.ResponseWriter, r *http.Request, v *view, msg, redirect string) error {
	if !isHTMX(r) {
		http.Redirect(w, r, redirect, http.StatusSeeOther)
		return nil
	}
	v.Flash = msg
	return d.render(w, v, http.StatusOK, "requests", "flash-oob")
}

// cardAgain shows a request's card again with what is wrong.
func (d *Dashboard) cardAgain(w http.ResponseWriter, r *http.Request, v *view, id string, problem error, fields []string, until string) error {
	code := hutong.ErrorCode(problem)
	if code == hutong.EINTERNAL || code == hutong.EUNAVAILABLE {
		return problem
	}
	req, err := d.Requests.Request(r.Context(), id)
	if err != nil {
		return err
	}
	card := v.Card(req, true)
	card.Error = hutong.ErrorMessage(problem)
	if fields != nil {
		card.Fields = fields
	}
	if until != "" {
		card.Until = until
	}
	if !isHTMX(r) {
		return problem
	}
	v.Data = card
	return d.render(w, v, http.StatusUnprocessableEntity, "requests", "card-partial")
}

func (d *Dashboard) handleApprove(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	req, err := d.Requests.Request(r.Context(), id)
	if err != nil {
		return err
	}
	fields := r.PostForm["fields"]
	until := strings.TrimSpace(r.PostFormValue("valid_until"))
	if len(fields) == 0 {
		return d.cardAgain(w, r, v, id, hutong.Errorf(hutong.EINVALID, "%s", v.T("res.request.mustfield")), []string{}, until)
	}
	var n hutong.Narrowing
	if len(fields) < len(req.Fields) {
		n.Fields = fields
	}
	if until != "" && until != v.InputDay(req.ValidUntil) {
		n.ValidUntil = until
	}
	// Stricter masking per field and volume limits: the API's narrowing,
	// which Approve checks (masking only ever gets stricter).
	for _, f := range fields {
		if m := r.PostFormValue("mask:" + f); m != "" {
			if n.Masking == nil {
				n.Masking = map[string]hutong.MaskRule{}
			}
			n.Masking[f] = hutong.MaskRule(m)
		}
	}
	for _, lim := range []struct {
		name string
		set  func(int64)
	}{
		{"rows_per_day", func(x int64) { n.RowsPerDay = x }},
		{"requests_per_minute", func(x int64) { n.RequestsPerMinute = int(x) }},
	} {
		if s := strings.TrimSpace(r.PostFormValue(lim.name)); s != "" {
			x, err := strconv.ParseInt(s, 10, 32)
			if err != nil || x <= 0 {
				return d.cardAgain(w, r, v, id, hutong.Invalid("invalid approval", []hutong.Violation{{Field: lim.name, Rule: "range",
					Message: v.T("requests.limit.bad", s)}}), fields, until)
			}
			lim.set(x)
		}
	}
	done, err := d.Requests.Approve(r.Context(), id, n)
	if err != nil {
		return d.cardAgain(w, r, v, id, err, fields, until)
	}
	return d.decided(w, r, v, v.T("requests.approved", done.ID, done.AgreementID),
		"/requests?box=inbox&done=approved&id="+url.QueryEscape(done.ID)+"&agreement="+url.QueryEscape(done.AgreementID))
}

func (d *Dashboard) handleReject(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if reason == "" {
		return d.cardAgain(w, r, v, id, hutong.Errorf(hutong.EINVALID, "%s", v.T("requests.reason.need")), nil, "")
	}
	done, err := d.Requests.Reject(r.Context(), id, reason)
	if err != nil {
		return d.cardAgain(w, r, v, id, err, nil, "")
	}
	return d.decided(w, r, v, v.T("requests.rejectedmsg", done.ID), "/requests?box=inbox&done=rejected&id="+url.QueryEscape(done.ID))
}

// handleRemind chases (催办) a pending request for its consumer. With
// htmx the remind form gives way to the message; without, the outbox
// shows it.
func (d *Dashboard) handleRemind(w http.ResponseWriter, r *http.Request, v *view) error {
	req, err := d.Requests.Remind(r.Context(), r.PathValue("id"))
	if err != nil {
		if code := hutong.ErrorCode(err); code == hutong.EINTERNAL || code == hutong.EUNAVAILABLE || !isHTMX(r) {
			return err
		}
		v.Error = hutong.ErrorMessage(err)
		return d.render(w, v, httperr.Status(hutong.ErrorCode(err)), "requests", "flash-oob")
	}
	return d.decided(w, r, v, v.T("requests.reminded", req.ID), "/requests?box=outbox&id="+url.QueryEscape(req.ID))
}

// agreementsData is the agreements and keys page.
type agreementsData struct {
	Consumed, Provided, All []*hutong.Agreement
	IsAdmin                 bool
	CanRevoke               bool
	Keys                    []hutong.Credential
	NewKey                  string
	NewKeyName              string
	KeyError                string
	HasDept                 bool
}

func (d *Dashboard) agreementsData(r *http.Request, v *view) (*agreementsData, error) {
	ctx := r.Context()
	u := v.User
	data := &agreementsData{IsAdmin: u.Has(hutong.RoleAdmin), HasDept: u.Department != "",
		CanRevoke: u.Has(hutong.RoleAdmin) || u.Has(hutong.RoleSteward)}
	var err error
	if data.HasDept {
		if data.Consumed, err = d.Requests.Agreements(ctx, hutong.AgreementFilter{Role: "consumer"}); err != nil {
			return nil, err
		}
		if data.Provided, err = d.Requests.Agreements(ctx, hutong.AgreementFilter{Role: "provider"}); err != nil {
			return nil, err
		}
		if data.Keys, err = d.Auth.Credentials(ctx, u.Department); err != nil {
			return nil, err
		}
	} else if data.IsAdmin {
		if data.All, err = d.Requests.Agreements(ctx, hutong.AgreementFilter{}); err != nil {
			return nil, err
		}
	} else {
		return nil, hutong.Errorf(hutong.EFORBIDDEN, "agreements belong to departments")
	}
	return data, nil
}

func (d *Dashboard) handleAgreements(w http.ResponseWriter, r *http.Request, v *view) error {
	data, err := d.agreementsData(r, v)
	if err != nil {
		return err
	}
	v.Title, v.Data = "agreements.title", data
	v.Flash = flashOf(v, r.URL.Query())
	return d.render(w, v, http.StatusOK, "agreements", "")
}

func (d *Dashboard) handleRevokeAgreement(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	ag, err := d.Requests.RevokeAgreement(r.Context(), id, strings.TrimSpace(r.PostFormValue("reason")))
	if err != nil {
		if hutong.ErrorCode(err) == hutong.EINVALID && isHTMX(r) {
			v.Error = hutong.ErrorMessage(err)
			return d.render(w, v, http.StatusUnprocessableEntity, "agreements", "flash-oob")
		}
		return err
	}
	if !isHTMX(r) {
		http.Redirect(w, r, "/agreements?done=revoked&id="+url.QueryEscape(ag.ID), http.StatusSeeOther)
		return nil
	}
	v.Flash = v.T("agreements.revoked", ag.ID)
	v.Data = v.Row(ag, true)
	return d.render(w, v, http.StatusOK, "agreements", "agreement-row-revoked")
}

// agreementRow is one agreement in a list, with whether the user's
// department provides it (and so may revoke it).
type agreementRow struct {
	V        *view
	A        *hutong.Agreement
	Provided bool
}

// agreementTable is a list of agreements.
type agreementTable struct {
	V        *view
	Rows     []agreementRow
	Provided bool
}

// Rows pairs agreements with the page, for the table template.
func (v *view) Rows(as []*hutong.Agreement, provided bool) agreementTable {
	t := agreementTable{V: v, Provided: provided}
	for _, a := range as {
		t.Rows = append(t.Rows, v.Row(a, provided))
	}
	return t
}

// CanRevoke reports whether the user may revoke agreements its
// department provides.
func (v *view) CanRevoke() bool {
	return v.User != nil && (v.User.Has(hutong.RoleAdmin) || v.User.Has(hutong.RoleSteward))
}

// Row pairs an agreement with the page, for the row template.
func (v *view) Row(a *hutong.Agreement, provided bool) agreementRow {
	return agreementRow{V: v, A: a, Provided: provided}
}

// handleCreateKey creates an application key and shows it once.
func (d *Dashboard) handleCreateKey(w http.ResponseWriter, r *http.Request, v *view) error {
	data, err := d.agreementsData(r, v)
	if err != nil {
		return err
	}
	v.Title, v.Data = "agreements.title", data
	name := strings.TrimSpace(r.PostFormValue("name"))
	status := http.StatusOK
	if name == "" {
		data.KeyError, status = v.T("keys.name.need"), http.StatusUnprocessableEntity
	} else {
		_, key, err := d.Auth.CreateCredential(r.Context(), "", name)
		switch code := hutong.ErrorCode(err); code {
		case "":
			data.NewKey, data.NewKeyName = key, name
			if data.Keys, err = d.Auth.Credentials(r.Context(), v.User.Department); err != nil {
				return err
			}
		case hutong.EINVALID, hutong.EFORBIDDEN, hutong.ECONFLICT:
			data.KeyError, status = hutong.ErrorMessage(err), http.StatusUnprocessableEntity
		default:
			return err
		}
	}
	block := ""
	if isHTMX(r) {
		block = "keys"
	}
	return d.render(w, v, status, "agreements", block)
}

func (d *Dashboard) handleRevokeKey(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := d.Auth.RevokeCredential(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	data, err := d.agreementsData(r, v)
	if err != nil {
		return err
	}
	v.Title, v.Data = "agreements.title", data
	if !isHTMX(r) {
		http.Redirect(w, r, "/agreements", http.StatusSeeOther)
		return nil
	}
	return d.render(w, v, http.StatusOK, "agreements", "keys")
}

// feedbackData is the feedback page.
type feedbackData struct {
	From, To    string // the inputs: first and last day
	Department  string
	ChooseDept  bool
	Departments []hutong.Department
	Feedback    *hutong.Feedback
	// The period's totals and its use summed by consumer and by resource,
	// with a chart of calls by consumer.
	Total                  feedbackSum
	ByConsumer, ByResource []feedbackSum
	Chart                  *chart
}

// parseDayInput reads a date input (YYYY-MM-DD, China Standard Time).
func parseDayInput(s string) (time.Time, bool) {
	t, err := time.ParseInLocation(time.DateOnly, strings.TrimSpace(s), hutong.ChinaTime)
	return t, err == nil
}

func (d *Dashboard) handleFeedback(w http.ResponseWriter, r *http.Request, v *view) error {
	if d.Feedback == nil {
		v.Title, v.Error = "feedback.title", v.T("common.unavailable")
		v.Data = &feedbackData{}
		return d.render(w, v, http.StatusOK, "feedback", "")
	}
	q := r.URL.Query()
	today := startOfDay(time.Now())
	from, to := today.AddDate(0, 0, -29), today
	status := http.StatusOK
	if s := q.Get("from"); s != "" {
		t, ok := parseDayInput(s)
		if !ok {
			v.Error, status = v.T("env.invalid.date"), http.StatusUnprocessableEntity
		}
		from = t
	}
	if s := q.Get("to"); s != "" {
		t, ok := parseDayInput(s)
		if !ok {
			v.Error, status = v.T("env.invalid.date"), http.StatusUnprocessableEntity
		}
		to = t
	}
	data := &feedbackData{From: from.Format(time.DateOnly), To: to.Format(time.DateOnly), Department: q.Get("department")}
	if v.User.Department == "" {
		data.ChooseDept = true
		for _, dep := range v.Departments() {
			if v.User.Has(hutong.RoleAdmin) || v.User.Has(hutong.RoleAuditor) || hutong.RegionContains(v.User.Region, dep.Region) {
				data.Departments = append(data.Departments, dep)
			}
		}
	} else {
		data.Department = v.User.Department
	}
	v.Title, v.Data = "feedback.title", data
	if data.Department == "" {
		if v.Error == "" {
			v.Flash = v.T("feedback.choose")
		}
		return d.render(w, v, status, "feedback", "")
	}
	if v.Error == "" {
		fb, err := d.Feedback.Feedback(r.Context(), hutong.FeedbackFilter{Provider: data.Department, From: from, To: to.AddDate(0, 0, 1)})
		switch code := hutong.ErrorCode(err); code {
		case "":
			data.Feedback = fb
			if q.Get("format") == "csv" {
				return writeFeedbackCSV(w, fb)
			}
			data.summarise(v)
		case hutong.EINVALID, hutong.ENOTFOUND:
			v.Error, status = hutong.ErrorMessage(err), http.StatusUnprocessableEntity
		default:
			return err
		}
	}
	return d.render(w, v, status, "feedback", "")
}

// proofData is the ledger page.
type proofData struct {
	Unavailable       bool
	Checkpoint        string
	Size              uint64
	Witnesses         []string
	CheckpointProblem string
	Index             string
	// Check is the hub's own check of the entry's commitment; its Event
	// is shown only when Opened.
	Check *hutong.ReceiptCheck
	// Opened: the user is one of the entry's parties and sees it in
	// full; Sealed: the entry exists but is not theirs.
	Opened, Sealed bool
	// Browser is what verify.js needs to check the entry's bundle in
	// the browser, for its parties.
	Browser *browserCheck
}

// browserCheck is the page's instructions to verify.js: where the bundle
// is, what the witnesses are called, which one is the province whose data
// was read, and the words it reports in.
type browserCheck struct {
	Bundle   string            `json:"bundle"`
	Names    map[string]string `json:"names"`
	Province string            `json:"province,omitempty"`
	Text     map[string]string `json:"text"`
}

// browserTexts are verify.js's messages, by its ids; {name} is filled in.
var browserTexts = []string{"keys", "origin", "size", "logbad", "log", "quorum", "quorumshort", "province", "provincemissing",
	"opening", "openingbad", "inclusion", "inclusionbad", "ok", "bad", "failed", "insecure", "running", "fetch", "format", "sep"}

func (d *Dashboard) handleProof(w http.ResponseWriter, r *http.Request, v *view) error {
	data := &proofData{Index: strings.TrimSpace(r.URL.Query().Get("index"))}
	v.Title, v.Data = "proof.title", data
	if d.LedgerView == nil {
		data.Unavailable = true
		return d.render(w, v, http.StatusOK, "proof", "")
	}
	ctx := r.Context()
	raw, size, ws, err := d.LedgerView.LatestCheckpoint(ctx)
	switch code := hutong.ErrorCode(err); code {
	case "":
		data.Checkpoint, data.Size, data.Witnesses = string(raw), size, ws
	case hutong.EUNAVAILABLE, hutong.ENOTFOUND:
		data.CheckpointProblem = hutong.ErrorMessage(err)
	default:
		return err
	}
	if data.Index == "" {
		return d.render(w, v, http.StatusOK, "proof", "")
	}
	index, err := strconv.ParseUint(data.Index, 10, 63)
	if err != nil {
		v.Error = v.T("proof.index.invalid")
		return d.render(w, v, http.StatusUnprocessableEntity, "proof", "")
	}
	status := http.StatusOK
	check, err := d.LedgerView.Check(ctx, index)
	switch code := hutong.ErrorCode(err); code {
	case "":
		data.Check = check
	case hutong.ENOTFOUND, hutong.EUNAVAILABLE, hutong.EINVALID:
		data.Check = &hutong.ReceiptCheck{Index: index, Problem: hutong.ErrorMessage(err)}
		status = httperr.Status(code)
	default:
		return err
	}
	// Who did what, for what, is for the entry's parties alone.
	var entry *hutong.LedgerEntry
	if d.Entries != nil && data.Check.Problem == "" {
		if entry, err = d.Entries.Entry(ctx, index); err != nil {
			return err
		}
	}
	data.Opened = entry != nil && entry.Entry != nil
	data.Sealed = data.Check.Problem == "" && !data.Opened
	if !data.Opened {
		data.Check.Event = hutong.AuditEvent{}
		return d.render(w, v, status, "proof", "")
	}
	data.Browser = &browserCheck{Bundle: "/proof/bundle?index=" + strconv.FormatUint(index, 10), Names: map[string]string{}, Text: map[string]string{}}
	province := ""
	if p := data.Check.Event.Provider; p != "" {
		if dept, err := d.Directory.Department(ctx, p); err == nil {
			province = hutong.ProvinceOf(dept.Region)
		}
	}
	for _, k := range d.LedgerView.Keys().WitnessKeys {
		name, _, _ := strings.Cut(k, "+")
		code := name[strings.LastIndex(name, "/")+1:]
		data.Browser.Names[name] = v.Region(code)
		if code == province && province != "" {
			data.Browser.Province = name
		}
	}
	for _, id := range browserTexts {
		data.Browser.Text[id] = v.T("proof.js." + id)
	}
	return d.render(w, v, status, "proof", "")
}

// handleProofBundle downloads an entry's proof bundle: for its parties,
// who check it here in the browser or offline with hutong verify bundle.
func (d *Dashboard) handleProofBundle(w http.ResponseWriter, r *http.Request, v *view) error {
	if d.LedgerView == nil || d.Entries == nil {
		return hutong.Errorf(hutong.ENOTFOUND, "this hub serves no ledger entries")
	}
	index, err := strconv.ParseUint(r.URL.Query().Get("index"), 10, 63)
	if err != nil {
		return hutong.Errorf(hutong.EINVALID, "%s", v.T("proof.index.invalid"))
	}
	b, err := hutong.Bundle(r.Context(), d.LedgerView, d.Entries, d.Directory, index, hutong.BundleWait)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="hutong-receipt-%d.json"`, index))
	h.Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // and no indent: the entry's bytes must stay as committed
	return enc.Encode(b)
}

// environmentData is the air-quality page.
type environmentData struct {
	Unavailable         string
	From, To            string
	Threshold, MinHours string
	Result              *hutong.AirQuality
	HotSpots            []hutong.CityAir
	Map                 *chart
	// Live is the stations' live picture; nil without sensors.
	Live *liveView
}

// AQIColor and AQIBand describe an AQI for the tables.
func (v *view) AQIColor(aqi float64) string { return aqiColor(aqi) }

// AQIBand names an AQI's band.
func (v *view) AQIBand(aqi float64) string { return v.T(aqiLabel(aqi)) }

func (d *Dashboard) handleEnvironment(w http.ResponseWriter, r *http.Request, v *view) error {
	data := &environmentData{}
	v.Title, v.Data = "env.title", data
	if d.LiveAir != nil {
		if la, err := d.LiveAir.LiveAir(r.Context()); err == nil {
			data.Live = newLiveView(v, la)
		}
	}
	if d.AirQuality == nil {
		data.Unavailable = v.T("common.unavailable")
		return d.render(w, v, http.StatusOK, "environment", "")
	}
	q := r.URL.Query()
	data.From, data.To, data.Threshold, data.MinHours = q.Get("from"), q.Get("to"), q.Get("threshold"), q.Get("min_hours")
	var aq hutong.AirQualityQuery
	bad := func(id string) error {
		v.Error = v.T(id)
		return d.render(w, v, http.StatusUnprocessableEntity, "environment", "")
	}
	if data.From != "" {
		t, ok := parseDayInput(data.From)
		if !ok {
			return bad("env.invalid.date")
		}
		aq.From = t
	}
	if data.To != "" {
		t, ok := parseDayInput(data.To)
		if !ok {
			return bad("env.invalid.date")
		}
		aq.To = t.AddDate(0, 0, 1)
	}
	for _, p := range []struct {
		s   string
		dst *int
	}{{data.Threshold, &aq.Threshold}, {data.MinHours, &aq.MinHours}} {
		if p.s == "" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(p.s))
		if err != nil {
			return bad("env.invalid.number")
		}
		*p.dst = n
	}
	res, err := d.AirQuality.AirQuality(r.Context(), aq)
	switch code := hutong.ErrorCode(err); code {
	case "":
	case hutong.EINVALID:
		v.Error = hutong.ErrorMessage(err)
		return d.render(w, v, http.StatusUnprocessableEntity, "environment", "")
	case hutong.ENOTFOUND, hutong.EUNAVAILABLE:
		data.Unavailable = hutong.ErrorMessage(err)
		return d.render(w, v, httperr.Status(code), "environment", "")
	default:
		return err
	}
	data.Result = res
	data.From = res.Query.From.In(hutong.ChinaTime).Format(time.DateOnly)
	data.To = v.InputDay(res.Query.To)
	data.Threshold, data.MinHours = strconv.Itoa(res.Query.Threshold), strconv.Itoa(res.Query.MinHours)
	for _, c := range res.Cities {
		if c.HotSpot {
			data.HotSpots = append(data.HotSpots, c)
		}
	}
	m := d.aqiMap(v, res.Cities)
	data.Map = &m
	return d.render(w, v, http.StatusOK, "environment", "")
}
