// Package services is the evidence broker of cross-province services
// (跨省通办): it files applications, gathers each piece of evidence — the
// applicant's own rows, from each provider — through the governed
// exchange under the service's standing agreements, keeps the applicant's
// preview and consent, and lets the handling department's officer decide
// on what the applicant confirmed.
package services

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/standard"
)

// Broker implements hutong.ApplicationService. Fill in Store, Exchange and
// Calendar; Now defaults to time.Now. It is safe for concurrent use.
type Broker struct {
	Store    hutong.ServiceStore
	Exchange hutong.ExchangeService
	Calendar *hutong.Calendar
	Now      func() time.Time
	// Uses and SubjectKey are the exchange's record of whose rows each
	// release returned and its key; without Uses, DataUses lists none.
	Uses       hutong.SubjectLog
	SubjectKey []byte
}

var _ hutong.ApplicationService = (*Broker)(nil)

// MaxEvidenceRows is the most rows one piece of evidence holds: a
// person's or an enterprise's records in one resource are few, and a
// broader answer means the row limit failed.
const MaxEvidenceRows = 20

func (b *Broker) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// Services lists the services.
func (b *Broker) Services(ctx context.Context) ([]*hutong.Service, error) {
	return b.Store.Services(ctx)
}

// Service returns one service, or ENOTFOUND.
func (b *Broker) Service(ctx context.Context, code string) (*hutong.Service, error) {
	return b.Store.Service(ctx, code)
}

// applicant returns whom the actor files for, refusing anyone who may not.
func (b *Broker) applicant(ctx context.Context, svc *hutong.Service, in *hutong.Applicant) (*hutong.Applicant, error) {
	a := hutong.ActorFromContext(ctx)
	switch {
	case a == nil || a.User == nil:
		return nil, hutong.Errorf(hutong.EUNAUTHORIZED, "sign in to apply")
	case a.Has(hutong.RoleApplicant):
		who, err := b.Store.ApplicantOf(ctx, a.User.Login)
		if hutong.ErrorCode(err) == hutong.ENOTFOUND {
			return nil, hutong.Errorf(hutong.EFORBIDDEN, "%s has no applicant identity", a)
		} else if err != nil {
			return nil, err
		}
		if in != nil && (in.Kind != who.Kind || in.Number != who.Number) {
			return nil, hutong.Errorf(hutong.EFORBIDDEN, "an applicant applies for themselves only")
		}
		return who, nil
	case a.MayReceive(svc):
		if in == nil {
			return nil, hutong.Invalid("invalid application", []hutong.Violation{{Field: "applicant", Rule: "required", Message: "a window officer names the applicant (id_kind, id_number)"}})
		}
		el, ok := standard.LookupElement(string(in.Kind))
		if !ok || (in.Kind != hutong.IDPerson && in.Kind != hutong.IDEnterprise) {
			return nil, hutong.Invalid("invalid application", []hutong.Violation{{Field: "applicant.id_kind", Rule: "enum", Message: "id_kind is citizen_id or uscc"}})
		}
		v, err := standard.Parse(el, in.Number)
		if err != nil {
			return nil, hutong.Invalid("invalid application", []hutong.Violation{{Field: "applicant.id_number", Rule: "format", Message: err.Error()}})
		}
		who := *in
		who.Number = fmt.Sprint(v)
		return &who, nil
	}
	return nil, hutong.Errorf(hutong.EFORBIDDEN, "%s applies for itself only as an applicant, or for others as a window officer of the receiving department", a)
}

// CreateApplication files an application and gathers its evidence.
func (b *Broker) CreateApplication(ctx context.Context, in hutong.ApplicationInput) (*hutong.Application, error) {
	svc, err := b.Store.Service(ctx, in.Service)
	if hutong.ErrorCode(err) == hutong.ENOTFOUND {
		return nil, hutong.Invalid("invalid application", []hutong.Violation{{Field: "service", Rule: "unknown", Message: fmt.Sprintf("no service %q", hutong.ClipText(in.Service, 64))}})
	} else if err != nil {
		return nil, err
	}
	who, err := b.applicant(ctx, svc, in.Applicant)
	if err != nil {
		return nil, err
	}
	if who.Kind != svc.ApplicantKind {
		return nil, hutong.Errorf(hutong.EINVALID, "%s is for applicants identified by %s", svc.Code, svc.ApplicantKind)
	}
	a := hutong.ActorFromContext(ctx)
	now := b.now()
	app := &hutong.Application{ID: newID(), Service: svc.Code, ServiceName: svc.Name, Applicant: *who, Region: who.Region,
		Receiving: svc.Receiving, Handling: svc.Handling, Status: hutong.AppGathering, CreatedBy: a.String(), CreatedAt: now,
		Evidence: []hutong.EvidenceItem{}}
	for _, e := range svc.Evidence {
		for _, p := range e.Providers {
			app.Evidence = append(app.Evidence, hutong.EvidenceItem{N: len(app.Evidence) + 1, Type: e.Type, Region: p.Region,
				Resource: p.Resource, Fields: p.Fields, Status: hutong.EvidenceFetched})
		}
	}
	if err := b.Store.CreateApplication(ctx, app, b.event(ctx, svc, app, hutong.AuditApplicationCreate, "")); err != nil {
		return nil, err
	}
	b.gather(ctx, svc, app)
	app.Status = hutong.AppAwaitingConfirmation
	evs := []*hutong.AuditEvent{}
	if !svc.PreviewRequired { // the legal basis lets the evidence be used without preview
		for i := range app.Evidence {
			if app.Evidence[i].Status == hutong.EvidenceFetched {
				app.Evidence[i].Status, app.Evidence[i].DecidedAt = hutong.EvidenceConfirmed, &now
			}
		}
	}
	if app.Settle(svc, b.Calendar, now) {
		evs = append(evs, b.event(ctx, svc, app, hutong.AuditApplicationSubmit, string(app.Status)))
	}
	if err := b.Store.UpdateApplication(ctx, app, evs...); err != nil {
		return nil, err
	}
	app.Countdown(b.Calendar, now)
	return app, nil
}

// event returns the audit event of a change to app.
func (b *Broker) event(ctx context.Context, svc *hutong.Service, app *hutong.Application, kind, detail string) *hutong.AuditEvent {
	a := hutong.ActorFromContext(ctx)
	reason := "application " + app.ID
	if detail != "" {
		reason += ": " + detail
	}
	return &hutong.AuditEvent{Time: b.now(), Kind: kind, Actor: a.String(), Department: a.Department(), Purpose: svc.Purpose(),
		Decision: "allow", Reason: reason}
}

// gather fetches every piece of evidence of app at once, each through the
// governed exchange as the handling department under the service's
// purpose, for the applicant as the call's subject (the standing
// agreement's row scope), and checks that every row released names the
// applicant: a piece that does not is dropped and failed.
func (b *Broker) gather(ctx context.Context, svc *hutong.Service, app *hutong.Application) {
	// The exchange reads for a department: the service's handling
	// department, through a credential that names the application, so the
	// audit entry of each read says which application it served.
	caller := hutong.NewContextWithActor(ctx, &hutong.Actor{Credential: &hutong.Credential{
		ID: "service." + svc.Code + "." + app.ID, Department: svc.Handling, Name: svc.Name}})
	providers := map[string]hutong.EvidenceProvider{}
	for _, e := range svc.Evidence {
		for _, p := range e.Providers {
			providers[e.Type+"\x00"+p.Resource] = p
		}
	}
	var wg sync.WaitGroup
	for i := range app.Evidence {
		item := &app.Evidence[i]
		p := providers[item.Type+"\x00"+item.Resource]
		wg.Add(1)
		go func() {
			defer wg.Done()
			fetch(caller, b.Exchange, svc, p, app.Applicant, item)
		}()
	}
	wg.Wait()
}

// fetch reads one piece of evidence into item.
func fetch(ctx context.Context, x hutong.ExchangeService, svc *hutong.Service, p hutong.EvidenceProvider, who hutong.Applicant, item *hutong.EvidenceItem) {
	fail := func(msg string) {
		item.Status, item.Records, item.Rows, item.Error = hutong.EvidenceFailed, nil, 0, msg
	}
	// The standing agreement limits rows to the call's subject (OpSubject).
	page, err := x.Records(hutong.NewContextWithSubject(ctx, who.Number), hutong.RecordQuery{Resource: p.Resource, Purpose: svc.Purpose(),
		Fields: p.Fields, Limit: MaxEvidenceRows})
	if err != nil {
		fail(hutong.ErrorMessage(err))
		return
	}
	item.Receipt = page.Receipt
	var body struct {
		Items      []map[string]any `json:"items"`
		NextCursor string           `json:"next_cursor"`
	}
	if err := json.Unmarshal(page.Body, &body); err != nil {
		fail("the exchange's answer could not be read")
		return
	}
	if body.NextCursor != "" {
		fail(fmt.Sprintf("more than %d rows answered for one applicant", MaxEvidenceRows))
		return
	}
	if slices.Contains(p.Fields, p.Subject) {
		for _, r := range body.Items {
			if !names(r[p.Subject], who.Number) {
				fail("a row released is not the applicant's")
				return
			}
		}
	}
	item.Records, item.Rows = body.Items, len(body.Items)
	if item.Records == nil {
		item.Records = []map[string]any{}
	}
}

// names reports whether v, a subject field's value as released (whole or
// masked, keeping its ends), is number.
func names(v any, number string) bool {
	s, ok := v.(string)
	if !ok || len(s) != len(number) {
		return false
	}
	if s == number {
		return true
	}
	for i := 0; i < len(s); i++ {
		if s[i] != number[i] && s[i] != '*' {
			return false
		}
	}
	return strings.Count(s, "*") < len(s)
}

// newID returns a fresh application id.
func newID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return "app_" + hex.EncodeToString(b)
}

// load returns an application and its service, as the actor may see it:
// whole to its applicant, without unconfirmed evidence to the officers of
// its departments and to platform admins and auditors, not at all (ENOTFOUND)
// to anyone else. mine says whether the actor is its applicant.
func (b *Broker) load(ctx context.Context, id string) (app *hutong.Application, svc *hutong.Service, mine bool, err error) {
	a := hutong.ActorFromContext(ctx)
	if a == nil || a.User == nil {
		return nil, nil, false, hutong.Errorf(hutong.EUNAUTHORIZED, "sign in to see applications")
	}
	app, err = b.Store.Application(ctx, id)
	if err != nil {
		return nil, nil, false, err
	}
	svc, err = b.Store.Service(ctx, app.Service)
	if err != nil {
		return nil, nil, false, err
	}
	if a.Has(hutong.RoleApplicant) {
		who, err := b.Store.ApplicantOf(ctx, a.User.Login)
		if err == nil && a.IsApplicant(who, app) {
			return app, svc, true, nil
		}
	}
	if a.MayHandle(svc) || a.MayReceive(svc) || a.IsAdmin() || a.Has(hutong.RoleAuditor) {
		return app, svc, false, nil
	}
	return nil, nil, false, hutong.Errorf(hutong.ENOTFOUND, "application %q not found", hutong.ClipText(id, 64))
}

// Application returns an application as the actor may see it.
func (b *Broker) Application(ctx context.Context, id string) (*hutong.Application, error) {
	app, _, mine, err := b.load(ctx, id)
	if err != nil {
		return nil, err
	}
	app.Countdown(b.Calendar, b.now())
	if !mine {
		app = app.ForOfficer()
	}
	return app, nil
}

// Applications lists what the actor may see: an applicant's own; a
// handling officer's department's; a window officer's department's
// receipts are not listed (they follow one by its id).
func (b *Broker) Applications(ctx context.Context, f hutong.ApplicationFilter) ([]*hutong.Application, error) {
	a := hutong.ActorFromContext(ctx)
	mine := false
	switch {
	case a == nil || a.User == nil:
		return nil, hutong.Errorf(hutong.EUNAUTHORIZED, "sign in to see applications")
	case a.Has(hutong.RoleApplicant):
		who, err := b.Store.ApplicantOf(ctx, a.User.Login)
		if err != nil {
			return nil, hutong.Errorf(hutong.EFORBIDDEN, "%s has no applicant identity", a)
		}
		f.Applicant, f.Handling, mine = who, "", true
	case a.Has(hutong.RoleHandlingOfficer):
		f.Handling, f.Applicant = a.User.Department, nil
	case a.IsAdmin() || a.Has(hutong.RoleAuditor):
	default:
		return nil, hutong.Errorf(hutong.EFORBIDDEN, "applications are listed for their applicants and handling officers")
	}
	if f.Overdue {
		f.Status = hutong.AppSubmitted
	}
	list, err := b.Store.Applications(ctx, f)
	if err != nil {
		return nil, err
	}
	now := b.now()
	out := list[:0]
	for _, app := range list {
		app.Countdown(b.Calendar, now)
		if f.Overdue && !app.Overdue {
			continue
		}
		if !mine {
			app = app.ForOfficer()
		}
		out = append(out, app)
	}
	return out, nil
}

// ConfirmEvidence records the applicant's consent to the n-th piece.
func (b *Broker) ConfirmEvidence(ctx context.Context, id string, n int) (*hutong.Application, error) {
	return b.choose(ctx, id, n, hutong.EvidenceConfirmed)
}

// WithdrawEvidence records the applicant's withdrawal of the n-th piece
// and deletes its rows.
func (b *Broker) WithdrawEvidence(ctx context.Context, id string, n int) (*hutong.Application, error) {
	return b.choose(ctx, id, n, hutong.EvidenceWithdrawn)
}

func (b *Broker) choose(ctx context.Context, id string, n int, to hutong.EvidenceStatus) (*hutong.Application, error) {
	app, svc, mine, err := b.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if !mine {
		return nil, hutong.Errorf(hutong.EFORBIDDEN, "only the applicant confirms or withdraws their evidence")
	}
	item := app.Item(n)
	switch {
	case item == nil:
		return nil, hutong.Errorf(hutong.ENOTFOUND, "application %s has no evidence %d", app.ID, n)
	case app.Status != hutong.AppAwaitingConfirmation:
		return nil, hutong.Errorf(hutong.ECONFLICT, "application %s is %s, not awaiting confirmation", app.ID, app.Status)
	case item.Status != hutong.EvidenceFetched:
		return nil, hutong.Errorf(hutong.ECONFLICT, "evidence %d is %s", n, item.Status)
	}
	now := b.now()
	item.Status, item.DecidedAt = to, &now
	kind := hutong.AuditEvidenceConfirm
	if to == hutong.EvidenceWithdrawn {
		item.Records, kind = nil, hutong.AuditEvidenceWithdraw
	}
	ev := b.event(ctx, svc, app, kind, fmt.Sprintf("evidence %d (%s)", n, item.Resource))
	ev.Resource, ev.Fields = item.Resource, item.Fields
	evs := []*hutong.AuditEvent{ev}
	if app.Settle(svc, b.Calendar, now) {
		evs = append(evs, b.event(ctx, svc, app, hutong.AuditApplicationSubmit, string(app.Status)))
	}
	if err := b.Store.UpdateApplication(ctx, app, evs...); err != nil {
		return nil, err
	}
	app.Countdown(b.Calendar, now)
	return app, nil
}

// MaxReasonRunes bounds a decision's reason.
const MaxReasonRunes = 500

// Decide records a handling officer's decision.
func (b *Broker) Decide(ctx context.Context, id, decision, reason string) (*hutong.Application, error) {
	app, svc, _, err := b.load(ctx, id)
	if err != nil {
		return nil, err
	}
	a := hutong.ActorFromContext(ctx)
	if !a.MayHandle(svc) {
		return nil, hutong.Errorf(hutong.EFORBIDDEN, "only a handling officer of %s decides applications for %s", svc.Handling, svc.Code)
	}
	reason = strings.TrimSpace(reason)
	var to hutong.ApplicationStatus
	switch decision {
	case hutong.DecisionApprove:
		to = hutong.AppApproved
	case hutong.DecisionReturn:
		to = hutong.AppReturned
	case hutong.DecisionRefuse:
		to = hutong.AppRefused
	default:
		return nil, hutong.Invalid("invalid decision", []hutong.Violation{{Field: "decision", Rule: "enum", Message: "decision is approve, return or refuse"}})
	}
	if to != hutong.AppApproved && reason == "" {
		return nil, hutong.Invalid("invalid decision", []hutong.Violation{{Field: "reason", Rule: "required", Message: "returning or refusing states the reason"}})
	}
	if len([]rune(reason)) > MaxReasonRunes {
		return nil, hutong.Invalid("invalid decision", []hutong.Violation{{Field: "reason", Rule: "length", Message: fmt.Sprintf("a reason has at most %d characters", MaxReasonRunes)}})
	}
	if app.Status != hutong.AppSubmitted {
		return nil, hutong.Errorf(hutong.ECONFLICT, "application %s is %s, not submitted", app.ID, app.Status)
	}
	now := b.now()
	app.Status, app.Decision, app.Reason, app.DecidedBy, app.DecidedAt = to, decision, reason, a.String(), &now
	ev := b.event(ctx, svc, app, hutong.AuditApplicationDecision, strings.TrimSpace(decision+" "+reason))
	if err := b.Store.UpdateApplication(ctx, app, ev); err != nil {
		return nil, err
	}
	app.Countdown(b.Calendar, now)
	return app.ForOfficer(), nil
}

// DataUses lists the governed reads that returned the applicant's rows.
func (b *Broker) DataUses(ctx context.Context, limit int) ([]hutong.DataUse, error) {
	a := hutong.ActorFromContext(ctx)
	if a == nil || a.User == nil {
		return nil, hutong.Errorf(hutong.EUNAUTHORIZED, "sign in to see the uses of your data")
	}
	if !a.Has(hutong.RoleApplicant) {
		return nil, hutong.Errorf(hutong.EFORBIDDEN, "the record of data uses is for the person or enterprise it is about")
	}
	who, err := b.Store.ApplicantOf(ctx, a.User.Login)
	if err != nil {
		return nil, hutong.Errorf(hutong.EFORBIDDEN, "%s has no applicant identity", a)
	}
	if b.Uses == nil {
		return []hutong.DataUse{}, nil
	}
	return b.Uses.DataUses(ctx, hutong.SubjectHash(b.SubjectKey, who.Number), limit)
}

// AddUpload adds a file to an application awaiting confirmation.
func (b *Broker) AddUpload(ctx context.Context, id, name string, r io.Reader) (*hutong.Application, error) {
	app, svc, mine, err := b.load(ctx, id)
	if err != nil {
		return nil, err
	}
	switch {
	case !mine:
		return nil, hutong.Errorf(hutong.EFORBIDDEN, "only the applicant adds files to their application")
	case app.Status != hutong.AppAwaitingConfirmation:
		return nil, hutong.Errorf(hutong.ECONFLICT, "application %s is %s, not awaiting confirmation", app.ID, app.Status)
	case len(app.Uploads) >= hutong.MaxUploads:
		return nil, hutong.Errorf(hutong.EINVALID, "an application keeps at most %d files", hutong.MaxUploads)
	}
	data, err := io.ReadAll(io.LimitReader(r, hutong.MaxUploadBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > hutong.MaxUploadBytes {
		return nil, hutong.Errorf(hutong.EINVALID, "a file has at most %d MiB", hutong.MaxUploadBytes>>20)
	}
	ct, _, _ := strings.Cut(http.DetectContentType(data), ";")
	if len(data) == 0 || !slices.Contains(hutong.UploadTypes, ct) {
		return nil, hutong.Errorf(hutong.EINVALID, "a file is a PDF or an image (PNG, JPEG, GIF, WebP); this one is %s", ct)
	}
	name = strings.TrimSpace(name)
	if name == "" || !utf8.ValidString(name) {
		name = "upload"
	}
	sum := sha256.Sum256(data)
	up := hutong.Upload{N: len(app.Uploads) + 1, Name: hutong.ClipText(name, 100), ContentType: ct, Size: int64(len(data)),
		SHA256: hex.EncodeToString(sum[:]), CreatedAt: b.now()}
	app.Uploads = append(app.Uploads, up)
	ev := b.event(ctx, svc, app, hutong.AuditApplicationUpload, fmt.Sprintf("upload %d (%s, %d bytes)", up.N, ct, up.Size))
	ev.Digest = up.SHA256
	if err := b.Store.AddUpload(ctx, app, data, ev); err != nil {
		return nil, err
	}
	app.Countdown(b.Calendar, b.now())
	return app, nil
}

// UploadFile returns an upload and its bytes.
func (b *Broker) UploadFile(ctx context.Context, id string, n int) (*hutong.Upload, []byte, error) {
	app, _, mine, err := b.load(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if n < 1 || n > len(app.Uploads) || !mine && (app.Status == hutong.AppGathering || app.Status == hutong.AppAwaitingConfirmation) {
		return nil, nil, hutong.Errorf(hutong.ENOTFOUND, "application %s has no upload %d", app.ID, n)
	}
	data, err := b.Store.UploadData(ctx, app.ID, n)
	if err != nil {
		return nil, nil, err
	}
	up := app.Uploads[n-1]
	return &up, data, nil
}
