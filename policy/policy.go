package policy

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/ast"
	"github.com/cedar-policy/cedar-go/types"

	"github.com/hutong/hutong"
)

// Entity types of the Cedar model.
const (
	departmentType types.EntityType = "Hutong::Department"
	actionType     types.EntityType = "Hutong::Action"
	resourceType   types.EntityType = "Hutong::Resource"
)

// Ids of the platform policies. They forbid whatever an agreement permits.
const (
	// NotShared forbids every call on a resource whose share type is
	// "none" (不予共享): such resources are never released.
	NotShared = "platform/not-shared"
	// CoreNoExport forbids exporting a resource of level 4 (core data):
	// core data is read record by record, never exported in bulk.
	CoreNoExport = "platform/core-no-export"
	// EmptyFields forbids a call that names no field. The exchange reads an
	// empty field list as "every field of the agreement", so an Access that
	// reached the policy unfilled must not be allowed.
	EmptyFields = "platform/empty-fields"
)

// maxCached bounds each cache; past it the cache starts over empty.
const maxCached = 100_000

var (
	actionRead   = types.NewEntityUID(actionType, hutong.ActionRead)
	actionExport = types.NewEntityUID(actionType, hutong.ActionExport)
)

// PolicyID returns the id of the policy an agreement compiles to:
// "agreement/<id>".
func PolicyID(agreementID string) string {
	return "agreement/" + agreementID
}

// compiled is an agreement's policy with what it was compiled from, so that
// a cached policy is only served for an agreement with the same content.
type compiled struct {
	id     cedar.PolicyID
	policy *cedar.Policy

	agreementID string
	consumer    string
	resource    string
	purpose     string
	from, until int64 // Unix seconds, rounded inward
	revoked     bool
	fields      []string
}

// matches reports whether c was compiled from an agreement with ag's content.
func (c *compiled) matches(ag *hutong.Agreement) bool {
	from, until := window(ag)
	if c.revoked != (ag.RevokedAt != nil) || c.agreementID != ag.ID ||
		c.consumer != ag.Consumer || c.resource != ag.Resource || c.purpose != ag.Purpose ||
		c.from != from || c.until != until || len(c.fields) != len(ag.Fields) {
		return false
	}
	for i := range c.fields {
		if c.fields[i] != ag.Fields[i].Name {
			return false
		}
	}
	return true
}

// window returns the validity window of ag in Unix seconds, rounded inward.
func window(ag *hutong.Agreement) (from, until int64) {
	from = ag.ValidFrom.Unix()
	if ag.ValidFrom.Nanosecond() != 0 {
		from++
	}
	return from, ag.ValidUntil.Unix()
}

// compile builds the policy of ag. It returns EINVALID for an agreement
// without an id, consumer or resource.
func compile(ag *hutong.Agreement) (*compiled, error) {
	if ag == nil {
		return nil, hutong.Errorf(hutong.EINVALID, "policy: no agreement to compile")
	}
	if ag.ID == "" || ag.Consumer == "" || ag.Resource == "" {
		return nil, hutong.Errorf(hutong.EINVALID, "policy: agreement %q lacks an id, a consumer or a resource", ag.ID)
	}
	id := PolicyID(ag.ID)
	from, until := window(ag)
	c := &compiled{
		id:          cedar.PolicyID(id),
		agreementID: ag.ID,
		consumer:    ag.Consumer,
		resource:    ag.Resource,
		purpose:     ag.Purpose,
		from:        from,
		until:       until,
		revoked:     ag.RevokedAt != nil,
		fields:      make([]string, len(ag.Fields)),
	}
	for i, f := range ag.Fields {
		c.fields[i] = f.Name
	}

	// The actions are a condition rather than the scope's `action in [read,
	// export]`: cedar-go builds a hash set for every evaluation of an `in`
	// over a set, three allocations per candidate on the hot path, while
	// two equalities allocate nothing. The meaning is the same.
	p := ast.Annotation("id", types.String(id)).Permit().
		PrincipalEq(types.NewEntityUID(departmentType, types.String(ag.Consumer))).
		ResourceEq(types.NewEntityUID(resourceType, types.String(ag.Resource))).
		When(ast.Action().Equal(ast.Value(actionRead)).Or(ast.Action().Equal(ast.Value(actionExport))))
	if ag.RevokedAt != nil {
		// Keep the scope so the text still says what the agreement was;
		// the condition never holds.
		p = p.Annotate("revoked", types.String(ag.RevokedAt.UTC().Format(time.RFC3339))).When(ast.False())
	} else {
		names := make([]ast.Node, len(ag.Fields))
		for i, f := range ag.Fields {
			names[i] = ast.String(f.Name)
		}
		ctx := ast.Context()
		p = p.When(ctx.Access("purpose").Equal(ast.String(ag.Purpose)).
			And(ctx.Access("now").GreaterThanOrEqual(ast.Long(from))).
			And(ctx.Access("now").LessThan(ast.Long(until))).
			And(ast.Set(names...).ContainsAll(ctx.Access("fields"))))
	}
	c.policy = cedar.NewPolicyFromAST(p)
	return c, nil
}

// platformPolicies returns the platform's forbid policies, in the order
// they are evaluated and shown.
func platformPolicies() []*compiled {
	resource, ctx := ast.Resource(), ast.Context()
	forbids := []struct {
		id     string
		reason string
		policy *ast.Policy
	}{
		{NotShared, "不予共享 resources are never released, whatever an agreement says",
			ast.Forbid().When(resource.Access("share_type").Equal(ast.String(hutong.ShareNone)))},
		{CoreNoExport, "core data (level 4) is read record by record, never exported in bulk",
			ast.Forbid().ActionEq(actionExport).When(resource.Access("level").GreaterThanOrEqual(ast.Long(4)))},
		{EmptyFields, "a call must name the fields it reads",
			ast.Forbid().When(ctx.Access("fields").IsEmpty())},
	}
	out := make([]*compiled, len(forbids))
	for i, f := range forbids {
		p := f.policy.Annotate("id", types.String(f.id)).Annotate("reason", types.String(f.reason))
		out[i] = &compiled{id: cedar.PolicyID(f.id), policy: cedar.NewPolicyFromAST(p)}
	}
	return out
}

// Text returns the policy ag compiles to as Cedar text, as GET
// /api/v1/agreements/{id} shows it. It fails like Compile.
func Text(ag *hutong.Agreement) (string, error) {
	c, err := compile(ag)
	if err != nil {
		return "", err
	}
	return string(c.policy.MarshalCedar()), nil
}

// Platform returns the platform's policies as Cedar text, for the
// documentation and the UI.
func Platform() string {
	var b strings.Builder
	for i, c := range platformPolicies() {
		if i > 0 {
			b.WriteString("\n\n")
		}
		b.Write(c.policy.MarshalCedar())
	}
	return b.String()
}

// Engine decides calls to the exchange: it evaluates the platform policies
// and the candidate agreements' policies in one Cedar pass. Compiled
// policies and resource entities are cached. An Engine is safe for
// concurrent use; its zero value is not usable, call New.
type Engine struct {
	platform []*compiled

	policies  boundedMap[*compiled]       // by agreement id
	resources boundedMap[*resourceEntity] // by resource code
	scratch   sync.Pool                   // *evaluation
}

var _ hutong.Authorizer = (*Engine)(nil)

// New returns an Engine with the platform policies.
func New() *Engine {
	return &Engine{platform: platformPolicies()}
}

// Compile returns the Cedar policy of ag, from the cache when an agreement
// with the same id and content (revocation included) was compiled before.
// A revoked agreement compiles to a permit whose condition never holds.
// It returns EINVALID for an agreement without an id, consumer or resource.
// The caller must not modify the policy.
func (e *Engine) Compile(ag *hutong.Agreement) (*cedar.Policy, error) {
	c, err := e.compiled(ag)
	if err != nil {
		return nil, err
	}
	return c.policy, nil
}

func (e *Engine) compiled(ag *hutong.Agreement) (*compiled, error) {
	if ag != nil {
		if c, ok := e.policies.get(ag.ID); ok && c.matches(ag) {
			return c, nil
		}
	}
	c, err := compile(ag)
	if err != nil {
		return nil, err
	}
	e.policies.put(ag.ID, c)
	return c, nil
}

// Authorize decides a: it is allowed when some candidate agreement's policy
// permits it and no platform policy forbids it. An allowed decision names
// the permitting agreement (the first by id when several do) and its
// policy id; a denied one names the platform policies that forbade it, or
// none for a default deny (no agreement covers the call).
//
// Authorize fails closed: when a candidate cannot be compiled or Cedar
// reports an evaluation error, the decision is a deny and the error says
// why. An Access without a resource is an internal error. ctx is unused:
// a decision takes a few microseconds.
func (e *Engine) Authorize(ctx context.Context, a hutong.Access, candidates []*hutong.Agreement) (hutong.Decision, error) {
	if a.Resource == nil {
		return hutong.Decision{}, hutong.Internal(errors.New("policy: access without a resource"))
	}
	ev, _ := e.scratch.Get().(*evaluation)
	if ev == nil {
		ev = newEvaluation()
	}
	defer e.scratch.Put(ev)
	defer ev.reset()

	ev.policies = append(ev.policies, e.platform...)
	for _, ag := range candidates {
		if ag == nil {
			continue
		}
		c, err := e.compiled(ag)
		if err != nil {
			return hutong.Decision{}, fmt.Errorf("policy: denied: agreement %q: %w", ag.ID, err)
		}
		ev.policies = append(ev.policies, c)
		ev.agreements = append(ev.agreements, ag)
	}

	res := e.resource(a.Resource)
	for _, f := range a.Fields {
		ev.fields = append(ev.fields, types.String(f))
	}
	ev.context["purpose"] = types.String(a.Purpose)
	ev.context["fields"] = types.NewSet(ev.fields...)
	ev.context["now"] = types.Long(a.Time.Unix())
	req := cedar.Request{
		Principal: types.NewEntityUID(departmentType, types.String(a.Department)),
		Action:    types.NewEntityUID(actionType, types.String(a.Action)),
		Resource:  res.uid,
		Context:   types.NewRecord(ev.context),
	}
	decision, diag := cedar.Authorize(ev, res, req)

	if len(diag.Errors) > 0 {
		msgs := make([]string, len(diag.Errors))
		for i, d := range diag.Errors {
			msgs[i] = string(d.PolicyID) + ": " + d.Message
		}
		return hutong.Decision{}, hutong.Internal(fmt.Errorf("policy: denied on evaluation errors: %s", strings.Join(msgs, "; ")))
	}
	if decision == cedar.Deny {
		var d hutong.Decision
		for _, r := range diag.Reasons {
			d.Policies = append(d.Policies, string(r.PolicyID))
		}
		return d, nil
	}

	// Allowed: find the permitting agreement with the smallest id.
	platform := len(e.platform)
	var chosen *hutong.Agreement
	var id cedar.PolicyID
	for _, r := range diag.Reasons {
		i := slices.IndexFunc(ev.policies[platform:], func(c *compiled) bool { return c.id == r.PolicyID })
		if i < 0 {
			return hutong.Decision{}, hutong.Internal(fmt.Errorf("policy: denied: permit by unknown policy %q", r.PolicyID))
		}
		if ag := ev.agreements[i]; chosen == nil || ag.ID < chosen.ID {
			chosen, id = ag, r.PolicyID
		}
	}
	if chosen == nil {
		return hutong.Decision{}, hutong.Internal(errors.New("policy: denied: allowed without a permitting policy"))
	}
	return hutong.Decision{Allowed: true, Agreement: chosen, Policies: []string{string(id)}}, nil
}

// resource returns the Cedar entity of r, cached by code and rebuilt when
// an attribute the policies read has changed.
func (e *Engine) resource(r *hutong.Resource) *resourceEntity {
	if re, ok := e.resources.get(r.Code); ok && re.matches(r) {
		return re
	}
	re := &resourceEntity{
		uid:       types.NewEntityUID(resourceType, types.String(r.Code)),
		shareType: r.ShareType,
		level:     r.Level,
		grade:     r.Grade,
		provider:  r.Provider,
	}
	re.entity = types.Entity{
		UID: re.uid,
		Attributes: types.NewRecord(types.RecordMap{
			"share_type": types.String(r.ShareType),
			"level":      types.Long(r.Level),
			"grade":      types.String(r.Grade),
			"provider":   types.String(r.Provider),
		}),
	}
	e.resources.put(r.Code, re)
	return re
}

// resourceEntity is a resource as Cedar sees it. It is the only entity of
// a request, so it is also the request's types.EntityGetter.
type resourceEntity struct {
	uid    types.EntityUID
	entity types.Entity

	shareType hutong.ShareType
	level     int
	grade     hutong.Grade
	provider  string
}

func (re *resourceEntity) matches(r *hutong.Resource) bool {
	return re.shareType == r.ShareType && re.level == r.Level && re.grade == r.Grade && re.provider == r.Provider
}

// Get implements types.EntityGetter.
func (re *resourceEntity) Get(uid types.EntityUID) (types.Entity, bool) {
	if uid == re.uid {
		return re.entity, true
	}
	return types.Entity{}, false
}

// evaluation is the reusable state of one Authorize call. It is the
// cedar.PolicyIterator of the call: the platform policies, then the
// candidates' in the order given.
type evaluation struct {
	policies   []*compiled
	agreements []*hutong.Agreement // agreements[i] compiled to policies[len(platform)+i]
	fields     []types.Value
	context    types.RecordMap
	all        iter.Seq2[cedar.PolicyID, *cedar.Policy]
}

func newEvaluation() *evaluation {
	ev := &evaluation{context: make(types.RecordMap, 3)}
	ev.all = ev.each // bound once, so All does not allocate
	return ev
}

// All implements cedar.PolicyIterator.
func (ev *evaluation) All() iter.Seq2[cedar.PolicyID, *cedar.Policy] { return ev.all }

func (ev *evaluation) each(yield func(cedar.PolicyID, *cedar.Policy) bool) {
	for _, c := range ev.policies {
		if !yield(c.id, c.policy) {
			return
		}
	}
}

// reset drops the references of the last call so the pool keeps no
// agreements or request values alive.
func (ev *evaluation) reset() {
	clear(ev.policies)
	ev.policies = ev.policies[:0]
	clear(ev.agreements)
	ev.agreements = ev.agreements[:0]
	clear(ev.fields)
	ev.fields = ev.fields[:0]
	clear(ev.context)
}

// boundedMap is a concurrent map from string keys that starts over empty
// once it holds maxCached entries: the values are cheap to rebuild, and an
// unbounded cache would grow with every agreement ever seen.
type boundedMap[V any] struct {
	m sync.Map
	n atomic.Int64
}

func (b *boundedMap[V]) get(key string) (V, bool) {
	v, ok := b.m.Load(key)
	if !ok {
		var zero V
		return zero, false
	}
	return v.(V), true
}

// put stores v under key. Under concurrent puts the count is approximate,
// which only moves the moment the map starts over.
func (b *boundedMap[V]) put(key string, v V) {
	if _, loaded := b.m.Swap(key, v); loaded || b.n.Add(1) <= maxCached {
		return
	}
	b.m.Clear()
	b.m.Store(key, v)
	b.n.Store(1)
}
