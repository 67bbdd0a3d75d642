package hutong

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Cross-province services (跨省通办): a service (事项) needs evidence that
// departments of several regions hold; an application gathers the
// applicant's own rows of each through the governed exchange, under the
// standing agreement each provider approved once for the service, shows
// them to the applicant, and reaches the handling department only with the
// pieces the applicant confirmed.

// Roles of cross-province services.
const (
	RoleApplicant       Role = "applicant"        // a person or an enterprise applying for a service
	RoleWindowOfficer   Role = "window_officer"   // 受理/代收: receives applications at a window, for the applicant
	RoleHandlingOfficer Role = "handling_officer" // 办理: decides applications for a handling department
)

// OpSubject is a row-scope operator of standing service agreements: the
// field equals the subject the call is made for (SubjectFromContext), one
// applicant per call. The exchange refuses a call under such an agreement
// that names no subject, and a region node checks the query carries the
// equality; the subject's filter spends no masked-field probe.
const OpSubject Op = "subject"

type subjectKey struct{}

// NewContextWithSubject returns a copy of ctx whose exchange calls are
// made for the subject id (a 公民身份号码 or 统一社会信用代码, canonical).
func NewContextWithSubject(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, subjectKey{}, id)
}

// SubjectFromContext returns the subject ctx's calls are made for, or "".
func SubjectFromContext(ctx context.Context) string {
	id, _ := ctx.Value(subjectKey{}).(string)
	return id
}

// IDKind says how an applicant is identified.
type IDKind string

// Applicant identifier kinds: the data elements that carry them.
const (
	IDPerson     IDKind = "citizen_id" // 公民身份号码 (GB 11643)
	IDEnterprise IDKind = "uscc"       // 统一社会信用代码 (GB 32100)
)

// Applicant is who an application is for.
type Applicant struct {
	Kind   IDKind `json:"id_kind"`
	Number string `json:"id_number"`
	// Region is where the applicant is (a province, GB/T 2260).
	Region string `json:"region,omitempty"`
}

// Service is a cross-province service definition (事项).
type Service struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	NameEn string `json:"name_en"`
	// Regions are the provinces the service is offered in.
	Regions []string `json:"regions"`
	// Receiving is the department whose window receives applications
	// (受理/代收); Handling the department that decides (办理).
	Receiving string `json:"receiving"`
	Handling  string `json:"handling"`
	// ApplicantKind is who may apply: persons or enterprises.
	ApplicantKind IDKind         `json:"applicant_kind"`
	Evidence      []EvidenceType `json:"evidence"`
	// TimeLimitDays is the time limit (承诺时限) in working days from
	// submission to decision.
	TimeLimitDays int    `json:"time_limit_days"`
	LegalBasis    string `json:"legal_basis"`
	Outcome       string `json:"outcome,omitempty"`
	// PreviewRequired says whether the applicant must preview and confirm
	// each piece of evidence; false only where the legal basis says the
	// evidence is used without preview.
	PreviewRequired bool `json:"preview_required"`
}

// EvidenceType is one kind of evidence a service needs, with the
// resources that provide it.
type EvidenceType struct {
	Type      string             `json:"type"`
	Name      string             `json:"name,omitempty"`
	Providers []EvidenceProvider `json:"providers"`
}

// EvidenceProvider is where a region keeps one kind of evidence: a
// resource, the fields the service needs and the field that names the
// subject (the applicant's identifier), by which rows are limited.
type EvidenceProvider struct {
	Region   string   `json:"region"`
	Resource string   `json:"resource"`
	Fields   []string `json:"fields"`
	Subject  string   `json:"subject_field"`
}

// Purpose returns the purpose (用途) the standing service agreements of s
// name, and every evidence fetch states.
func (s *Service) Purpose() string {
	return fmt.Sprintf("跨省通办：%s（%s）", s.Name, s.Code)
}

// CheckService returns the violations of s's own rules: those that need
// no catalog.
func CheckService(s *Service) []Violation {
	var vs []Violation
	bad := func(field, rule, format string, args ...any) {
		vs = append(vs, Violation{Field: field, Rule: rule, Message: fmt.Sprintf(format, args...)})
	}
	if strings.TrimSpace(s.Code) == "" || len(s.Code) > 64 {
		bad("code", "required", "a service has a code of 1 to 64 characters")
	}
	if strings.TrimSpace(s.Name) == "" {
		bad("name", "required", "a service has a name")
	}
	if s.Receiving == "" || s.Handling == "" {
		bad("handling", "required", "a service names its receiving and its handling department")
	}
	if s.ApplicantKind != IDPerson && s.ApplicantKind != IDEnterprise {
		bad("applicant_kind", "enum", "applicant_kind is citizen_id or uscc")
	}
	if s.TimeLimitDays < 1 || s.TimeLimitDays > 60 {
		bad("time_limit_days", "range", "the time limit is 1 to 60 working days")
	}
	if strings.TrimSpace(s.LegalBasis) == "" {
		bad("legal_basis", "required", "a service states its legal basis")
	}
	if len(s.Evidence) == 0 {
		bad("evidence", "required", "a service needs at least one kind of evidence")
	}
	for i, e := range s.Evidence {
		if e.Type == "" || len(e.Providers) == 0 {
			bad(fmt.Sprintf("evidence[%d]", i), "required", "each kind of evidence has a type and at least one provider")
		}
		for j, p := range e.Providers {
			if p.Resource == "" || p.Subject == "" || len(p.Fields) == 0 {
				bad(fmt.Sprintf("evidence[%d].providers[%d]", i, j), "required", "a provider names a resource, its fields and its subject field")
			}
		}
	}
	return vs
}

// ApplicationStatus is where an application stands.
type ApplicationStatus string

// Application statuses.
const (
	AppGathering            ApplicationStatus = "gathering"             // evidence is being fetched
	AppAwaitingConfirmation ApplicationStatus = "awaiting_confirmation" // the applicant previews the evidence
	AppSubmitted            ApplicationStatus = "submitted"             // with the handling department
	AppApproved             ApplicationStatus = "approved"
	AppReturned             ApplicationStatus = "returned" // returned for more
	AppRefused              ApplicationStatus = "refused"
	AppWithdrawn            ApplicationStatus = "withdrawn" // abandoned by the applicant
)

// Decided reports whether s is a final decision.
func (s ApplicationStatus) Decided() bool {
	return s == AppApproved || s == AppReturned || s == AppRefused
}

// EvidenceStatus is where one piece of evidence stands.
type EvidenceStatus string

// Evidence statuses.
const (
	EvidenceFetched   EvidenceStatus = "fetched"   // read, shown to the applicant only
	EvidenceConfirmed EvidenceStatus = "confirmed" // the applicant confirmed its use
	EvidenceWithdrawn EvidenceStatus = "withdrawn" // the applicant withdrew it; its rows are gone
	EvidenceFailed    EvidenceStatus = "failed"    // the exchange refused or could not read it
)

// EvidenceItem is one piece of evidence of an application: one provider's
// answer for one kind of evidence.
type EvidenceItem struct {
	N        int            `json:"n"` // 1-based, stable
	Type     string         `json:"type"`
	Region   string         `json:"region"`
	Resource string         `json:"resource"`
	Fields   []string       `json:"fields"`
	Status   EvidenceStatus `json:"status"`
	Rows     int            `json:"rows"`
	// Records are the rows released, masked as the agreement says; nil
	// once withdrawn, and for readers who may not see them.
	Records []map[string]any `json:"records,omitempty"`
	// Receipt proves the audited read that released the rows.
	Receipt *Receipt `json:"receipt,omitempty"`
	Error   string   `json:"error,omitempty"`
	// DecidedAt is when the applicant confirmed or withdrew it.
	DecidedAt *time.Time `json:"decided_at,omitempty"`
}

// Application is one application for a service.
type Application struct {
	ID          string            `json:"id"`
	Service     string            `json:"service"`
	ServiceName string            `json:"service_name"`
	Applicant   Applicant         `json:"applicant"`
	Region      string            `json:"region"` // where it was filed
	Receiving   string            `json:"receiving"`
	Handling    string            `json:"handling"`
	Status      ApplicationStatus `json:"status"`
	Evidence    []EvidenceItem    `json:"evidence"`
	CreatedBy   string            `json:"created_by"`
	CreatedAt   time.Time         `json:"created_at"`
	SubmittedAt *time.Time        `json:"submitted_at,omitempty"`
	// DueAt is the end of the time limit, counted in working days from
	// submission; ReplyBy its last day (YYYY-MM-DD, China Standard Time).
	DueAt           *time.Time `json:"due_at,omitempty"`
	ReplyBy         string     `json:"reply_by,omitempty"`
	Overdue         bool       `json:"overdue"`
	WorkingDaysLeft int        `json:"working_days_left"`
	Decision        string     `json:"decision,omitempty"`
	Reason          string     `json:"reason,omitempty"`
	DecidedBy       string     `json:"decided_by,omitempty"`
	DecidedAt       *time.Time `json:"decided_at,omitempty"`
	// Uploads are the files the applicant added (in place of withdrawn
	// evidence, or beside it).
	Uploads []Upload `json:"uploads,omitempty"`
	// Version counts the application's changes; a store refuses a change
	// made from an older version (ECONFLICT).
	Version int `json:"version"`
}

// Item returns the application's n-th piece of evidence, or nil.
func (a *Application) Item(n int) *EvidenceItem {
	if n < 1 || n > len(a.Evidence) {
		return nil
	}
	return &a.Evidence[n-1]
}

// Settle moves an application awaiting confirmation on once every piece
// of evidence is confirmed, withdrawn or failed: submitted (due by the
// time limit on cal) when at least one piece is confirmed or a file was
// added, withdrawn when neither. It reports whether the status changed.
func (a *Application) Settle(s *Service, cal *Calendar, now time.Time) bool {
	if a.Status != AppAwaitingConfirmation {
		return false
	}
	confirmed := 0
	for _, e := range a.Evidence {
		switch e.Status {
		case EvidenceFetched:
			return false
		case EvidenceConfirmed:
			confirmed++
		}
	}
	if confirmed == 0 && len(a.Uploads) == 0 {
		a.Status = AppWithdrawn
		return true
	}
	a.Status = AppSubmitted
	due := cal.Deadline(now, s.TimeLimitDays)
	a.SubmittedAt, a.DueAt = &now, &due
	a.ReplyBy = due.Add(-time.Nanosecond).In(ChinaTime).Format(time.DateOnly)
	return true
}

// Countdown sets Overdue and WorkingDaysLeft as of now.
func (a *Application) Countdown(cal *Calendar, now time.Time) {
	a.Overdue, a.WorkingDaysLeft = false, 0
	if a.Status != AppSubmitted || a.DueAt == nil {
		return
	}
	a.WorkingDaysLeft = cal.WorkingDaysLeft(now, *a.DueAt)
	a.Overdue = !now.Before(*a.DueAt)
}

// ForOfficer returns a copy of a as an officer of the handling or
// receiving department sees it: the rows of evidence the applicant has not
// confirmed are left out, so nothing reaches the officer before
// confirmation.
func (a *Application) ForOfficer() *Application {
	c := *a
	c.Evidence = slices.Clone(a.Evidence)
	for i := range c.Evidence {
		if c.Evidence[i].Status != EvidenceConfirmed {
			c.Evidence[i].Records = nil
		}
	}
	if a.Status == AppGathering || a.Status == AppAwaitingConfirmation {
		c.Uploads = nil // the applicant's files reach officers with the submission
	}
	return &c
}

// Upload is a file an applicant added to an application: a PDF or an
// image, kept with it.
type Upload struct {
	N           int       `json:"n"` // 1-based, stable
	Name        string    `json:"name"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	CreatedAt   time.Time `json:"created_at"`
}

// Upload limits.
const (
	MaxUploadBytes = 10 << 20
	MaxUploads     = 10
)

// UploadTypes are the content types an upload may have, as sniffed from
// its bytes.
var UploadTypes = []string{"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp"}

// Decisions of a handling officer.
const (
	DecisionApprove = "approve"
	DecisionReturn  = "return"
	DecisionRefuse  = "refuse"
)

// IsApplicant reports whether the actor is the applicant a names.
func (x *Actor) IsApplicant(who *Applicant, a *Application) bool {
	return x.Has(RoleApplicant) && who != nil && who.Kind == a.Applicant.Kind && who.Number == a.Applicant.Number
}

// MayReceive reports whether the actor may file applications for s on an
// applicant's behalf: a window officer of s's receiving department.
func (x *Actor) MayReceive(s *Service) bool {
	return x.Has(RoleWindowOfficer) && x.User.Department == s.Receiving
}

// MayHandle reports whether the actor decides applications for s: a
// handling officer of s's handling department.
func (x *Actor) MayHandle(s *Service) bool {
	return x.Has(RoleHandlingOfficer) && x.User.Department == s.Handling
}

// ApplicationFilter selects applications: those of a service, in a
// status, of a handling department.
type ApplicationFilter struct {
	Service  string
	Status   ApplicationStatus
	Handling string
	// Applicant selects one applicant's own (Kind and Number).
	Applicant *Applicant
	// Overdue selects submitted applications past their time limit.
	Overdue bool
	Limit   int
}

// ServiceStore keeps services, applicants' identities and applications.
// It checks no permissions: the services broker does.
type ServiceStore interface {
	// PutService stores s, replacing the service of its code.
	PutService(ctx context.Context, s *Service) error
	// Service returns one service, or ENOTFOUND.
	Service(ctx context.Context, code string) (*Service, error)
	// Services lists every service by code.
	Services(ctx context.Context) ([]*Service, error)

	// PutApplicant records the identity of the applicant user login.
	PutApplicant(ctx context.Context, login string, a Applicant) error
	// ApplicantOf returns the identity of the applicant user login, or
	// ENOTFOUND.
	ApplicantOf(ctx context.Context, login string) (*Applicant, error)

	// CreateApplication stores a new application (Version 1) and records
	// ev through the audit outbox.
	CreateApplication(ctx context.Context, a *Application, ev *AuditEvent) error
	// UpdateApplication stores a's changes and records evs in the same
	// transaction. a.Version must be the stored version; it is then
	// incremented. A stale version is ECONFLICT.
	UpdateApplication(ctx context.Context, a *Application, evs ...*AuditEvent) error
	// Application returns one application, or ENOTFOUND.
	Application(ctx context.Context, id string) (*Application, error)
	// Applications lists applications that match f, newest first.
	Applications(ctx context.Context, f ApplicationFilter) ([]*Application, error)

	// AddUpload stores data as a's last upload and a's changes, with evs,
	// in one transaction; a stale version is ECONFLICT, as for
	// UpdateApplication.
	AddUpload(ctx context.Context, a *Application, data []byte, evs ...*AuditEvent) error
	// UploadData returns the bytes of application id's n-th upload, or
	// ENOTFOUND.
	UploadData(ctx context.Context, id string, n int) ([]byte, error)
}

// ApplicationInput starts an application.
type ApplicationInput struct {
	Service string `json:"service"`
	// Applicant is whom a window officer files for; an applicant files
	// for themselves and leaves it empty.
	Applicant *Applicant `json:"applicant,omitempty"`
}

// ApplicationService runs applications: the evidence broker.
type ApplicationService interface {
	// Services lists the services; Service returns one or ENOTFOUND.
	Services(ctx context.Context) ([]*Service, error)
	Service(ctx context.Context, code string) (*Service, error)

	// CreateApplication files an application for the signed-in applicant
	// or, by a window officer of the receiving department, for
	// in.Applicant, and gathers its evidence: each provider's rows of the
	// applicant only, through the governed exchange. EFORBIDDEN for anyone
	// else; EINVALID for an unknown service or a malformed applicant.
	CreateApplication(ctx context.Context, in ApplicationInput) (*Application, error)

	// Application returns an application as the actor may see it: whole
	// to its applicant; without unconfirmed evidence to the officers of
	// its departments; ENOTFOUND to anyone else.
	Application(ctx context.Context, id string) (*Application, error)

	// Applications lists what the actor may see: an applicant's own, a
	// handling officer's department's submitted and decided ones.
	Applications(ctx context.Context, f ApplicationFilter) ([]*Application, error)

	// ConfirmEvidence and WithdrawEvidence record the applicant's choice
	// on the n-th piece of evidence (withdrawing deletes its rows). Only
	// the applicant may (EFORBIDDEN), only while the application awaits
	// confirmation (ECONFLICT).
	ConfirmEvidence(ctx context.Context, id string, n int) (*Application, error)
	WithdrawEvidence(ctx context.Context, id string, n int) (*Application, error)

	// Decide records a handling officer's decision (approve, return,
	// refuse) on a submitted application; return and refuse need a
	// reason (EINVALID). ECONFLICT when not submitted.
	Decide(ctx context.Context, id, decision, reason string) (*Application, error)

	// AddUpload adds a file (a PDF or an image, sniffed from its bytes, at
	// most MaxUploadBytes) to an application awaiting its applicant's
	// confirmation. Only the applicant may (EFORBIDDEN); ECONFLICT past
	// that step; EINVALID for another kind of file or too many.
	AddUpload(ctx context.Context, id, name string, data io.Reader) (*Application, error)

	// UploadFile returns an upload and its bytes to whoever may see the
	// application: its applicant, and its officers once it is submitted.
	UploadFile(ctx context.Context, id string, n int) (*Upload, []byte, error)

	// DataUses lists the governed reads, across the whole exchange, that
	// returned rows about the signed-in applicant (datause.go), newest
	// first. EFORBIDDEN for anyone but an applicant with an identity.
	DataUses(ctx context.Context, limit int) ([]DataUse, error)
}

// Audit event kinds of applications.
const (
	AuditApplicationCreate   = "application.create"
	AuditEvidenceConfirm     = "application.evidence.confirm"
	AuditEvidenceWithdraw    = "application.evidence.withdraw"
	AuditApplicationSubmit   = "application.submit"
	AuditApplicationDecision = "application.decision"
	AuditApplicationUpload   = "application.upload"
)

// StandingRequests returns the requests that make s's standing service
// agreements (一次授权, 多次使用) once each provider approves them: one per
// evidence provider, by the handling department, for the service's
// purpose, of the fields the service needs and its subject field, valid
// until validUntil (YYYY-MM-DD), and rows limited to each call's subject
// (OpSubject on the subject field): one applicant per read.
func (s *Service) StandingRequests(validUntil string) []RequestInput {
	var out []RequestInput
	seen := map[string]bool{}
	for _, e := range s.Evidence {
		for _, p := range e.Providers {
			if seen[p.Resource] {
				continue
			}
			seen[p.Resource] = true
			fields := slices.Clone(p.Fields)
			if !slices.Contains(fields, p.Subject) {
				fields = append(fields, p.Subject)
			}
			out = append(out, RequestInput{Consumer: s.Handling, Resource: p.Resource, Fields: fields, Purpose: s.Purpose(),
				LegalBasis: s.LegalBasis, ValidUntil: validUntil, RowScope: []Condition{{Field: p.Subject, Op: OpSubject}}})
		}
	}
	return out
}

// StandingNarrowing is how a provider approves a standing service
// request: as asked (its subject row scope spends no probes).
var StandingNarrowing = Narrowing{}

// checkSubjectScope checks an OpSubject row-scope condition on it: the
// item identifies a person or an enterprise, and the condition names no
// values (the call gives its subject).
func checkSubjectScope(it Item, c Condition, field string) (Violation, bool) {
	if !slices.Contains(SubjectElements, it.Element) {
		return Violation{Field: field, Rule: "operator", Message: fmt.Sprintf("subject limits rows by an identifier (公民身份号码 or 统一社会信用代码); %s is not one", it.Name)}, false
	}
	if len(c.Values) > 0 {
		return Violation{Field: field, Rule: "values", Message: "subject takes no values: each call names its subject"}, false
	}
	return Violation{}, true
}
