package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/search"
	"github.com/hutong/hutong/standard"
)

// Catalog implements hutong.CatalogService.
type Catalog struct{ db *DB }

var _ hutong.CatalogService = (*Catalog)(nil)

// NewCatalog returns the catalog service of db.
func NewCatalog(db *DB) *Catalog { return &Catalog{db: db} }

// Elements returns the standard data elements.
func (s *Catalog) Elements(ctx context.Context) ([]hutong.Element, error) {
	return standard.Elements(), nil
}

// Element returns one data element.
func (s *Catalog) Element(ctx context.Context, id string) (*hutong.Element, error) {
	el, ok := standard.LookupElement(id)
	if !ok {
		return nil, hutong.Errorf(hutong.ENOTFOUND, "data element %q not found", id)
	}
	return &el, nil
}

const resourceColumns = `id, code, name, name_en, provider, region, summary, format, items,
	share_type, share_conditions, legal_basis, open_type, update_cycle, publish_date,
	related, level, grade, tags, hosted, row_count, created_at, updated_at`

// storedResource is a resource with its internal id, which names its row table.
type storedResource struct {
	hutong.Resource
	id int64
}

func (db *DB) scanResource(sc interface{ Scan(...any) error }) (*storedResource, error) {
	var r storedResource
	var items, related, tags string
	err := sc.Scan(&r.id, &r.Code, &r.Name, &r.NameEn, &r.Provider, &r.Region, &r.Summary, &r.Format, &items,
		&r.ShareType, &r.ShareConditions, &r.LegalBasis, &r.OpenType, &r.UpdateCycle, &r.PublishDate,
		&related, &r.Level, &r.Grade, &tags, &r.Hosted, &r.Rows, &r.CreatedAt, &r.UpdatedAt)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(items), &r.Items); err != nil {
		return nil, fmt.Errorf("resource %s items: %w", r.Code, err)
	}
	if err := json.Unmarshal([]byte(related), &r.Related); err != nil {
		return nil, fmt.Errorf("resource %s related: %w", r.Code, err)
	}
	if err := json.Unmarshal([]byte(tags), &r.Tags); err != nil {
		return nil, fmt.Errorf("resource %s tags: %w", r.Code, err)
	}
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	if d := db.department(r.Provider); d != nil {
		r.ProviderName = d.Name
	}
	return &r, nil
}

// storedResource loads one resource with its internal id.
func (db *DB) storedResource(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, code string) (*storedResource, error) {
	r, err := db.scanResource(q.QueryRowContext(ctx, db.q(`SELECT `+resourceColumns+` FROM resources WHERE code = ?`), code))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hutong.Errorf(hutong.ENOTFOUND, "resource %q not found", code)
	}
	if err != nil {
		return nil, internal(err)
	}
	return r, nil
}

// Resource returns one resource.
func (s *Catalog) Resource(ctx context.Context, code string) (*hutong.Resource, error) {
	if !validCode(code) {
		return nil, hutong.Errorf(hutong.ENOTFOUND, "resource %q not found", code)
	}
	r, err := s.db.cachedResource(ctx, code)
	if err != nil {
		return nil, err
	}
	c := r.Resource // callers may change their copy, not the cache's
	return &c, nil
}

// Resources answers a catalog query from the search index and loads the
// page's resources from the database.
func (s *Catalog) Resources(ctx context.Context, f hutong.ResourceFilter) (*hutong.ResourcePage, error) {
	switch {
	case f.Limit < 0 || f.Limit > hutong.MaxPageSize:
		return nil, hutong.Errorf(hutong.EINVALID, "limit %d must be between 1 and %d", f.Limit, hutong.MaxPageSize)
	case f.Limit == 0:
		f.Limit = hutong.DefaultPageSize
	}
	if f.Level < 0 || f.Level > 4 {
		return nil, hutong.Errorf(hutong.EINVALID, "level %d must be between 1 and 4", f.Level)
	}
	if f.ShareType != "" {
		t, ok := hutong.ParseShareType(string(f.ShareType))
		if !ok {
			return nil, hutong.Errorf(hutong.EINVALID, "share_type %q must be unconditional, conditional or none", f.ShareType)
		}
		f.ShareType = t
	}
	if f.Region != "" && !standard.ValidDivision(f.Region) {
		return nil, hutong.Errorf(hutong.EINVALID, "region %q is not a GB/T 2260 division code", f.Region)
	}
	if len(f.Query) > 200 {
		return nil, hutong.Errorf(hutong.EINVALID, "query is longer than 200 bytes")
	}
	res, err := s.db.index.Search(search.Query{
		Text:      f.Query,
		Tag:       f.Tag,
		Region:    f.Region,
		Provider:  f.Provider,
		ShareType: string(f.ShareType),
		Level:     f.Level,
		Limit:     f.Limit,
		Cursor:    f.Cursor,
	})
	if err != nil {
		return nil, err
	}
	page := &hutong.ResourcePage{Items: []*hutong.Resource{}, Total: res.Total, NextCursor: res.NextCursor}
	if len(res.Codes) == 0 {
		return page, nil
	}
	byCode, err := s.db.resourcesByCode(ctx, res.Codes)
	if err != nil {
		return nil, err
	}
	for _, c := range res.Codes {
		if r, ok := byCode[c]; ok {
			page.Items = append(page.Items, r)
		}
	}
	return page, nil
}

func (db *DB) resourcesByCode(ctx context.Context, codes []string) (map[string]*hutong.Resource, error) {
	args := make([]any, len(codes))
	for i, c := range codes {
		args[i] = c
	}
	rows, err := db.ro.QueryContext(ctx, db.q(`SELECT `+resourceColumns+` FROM resources WHERE code IN (`+placeholders(len(codes))+`)`), args...)
	if err != nil {
		return nil, internal(err)
	}
	defer rows.Close()
	out := make(map[string]*hutong.Resource, len(codes))
	for rows.Next() {
		r, err := db.scanResource(rows)
		if err != nil {
			return nil, internal(err)
		}
		out[r.Code] = &r.Resource
	}
	return out, internal(rows.Err())
}

// placeholders returns "?, ?, …" with n marks.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// Tags returns the catalog's tags with their counts.
func (s *Catalog) Tags(ctx context.Context) ([]hutong.TagCount, error) {
	return s.db.index.Tags(), nil
}

// authorizePublish checks that the actor may publish for r's provider.
func authorizePublish(ctx context.Context, r *hutong.Resource) error {
	a := hutong.ActorFromContext(ctx)
	if !a.CanManage(r.Provider, r.Region) {
		return hutong.Errorf(hutong.EFORBIDDEN, "%s may not publish resources of department %s", a, r.Provider)
	}
	return nil
}

// PublishResource validates and stores r.
func (s *Catalog) PublishResource(ctx context.Context, r *hutong.Resource) error {
	if vs := s.db.normalizeResource(r, 0); len(vs) > 0 {
		return hutong.Invalid("invalid resource", vs)
	}
	if err := authorizePublish(ctx, r); err != nil {
		return err
	}
	if vs := s.db.codeViolation(r, 0); len(vs) > 0 {
		return hutong.Invalid("invalid resource", vs)
	}
	now := utc(s.db.now())
	r.CreatedAt, r.UpdatedAt, r.Rows = now, now, 0
	err := s.db.change(ctx, func(tx *sql.Tx) ([]*hutong.AuditEvent, error) {
		if err := s.db.insertResource(ctx, tx, r); err != nil {
			return nil, err
		}
		return []*hutong.AuditEvent{resourceEvent(hutong.AuditResourcePublish, r, "")}, s.db.announce(ctx, tx, noticeResource, r.Code)
	})
	if err != nil {
		return err
	}
	s.db.index.Put(indexDoc(r))
	return nil
}

// resourceEvent describes a catalog change for the audit log.
func resourceEvent(kind string, r *hutong.Resource, reason string) *hutong.AuditEvent {
	fields := make([]string, len(r.Items))
	for i, it := range r.Items {
		fields[i] = it.Name + ":" + it.Element + ":" + string(it.Masking)
	}
	return &hutong.AuditEvent{Kind: kind, Department: r.Provider, Resource: r.Code, Provider: r.Provider,
		Fields: fields, Reason: reason, Purpose: string(r.ShareType) + " level " + strconv.Itoa(r.Level)}
}

// insertResource stores r and creates its row table.
func (db *DB) insertResource(ctx context.Context, tx *sql.Tx, r *hutong.Resource) error {
	items, _ := json.Marshal(r.Items)
	related, _ := json.Marshal(orEmpty(r.Related))
	tags, _ := json.Marshal(orEmpty(r.Tags))
	var id int64
	err := tx.QueryRowContext(ctx, db.q(`INSERT INTO resources (code, name, name_en, provider, region, summary, format, items,
		share_type, share_conditions, legal_basis, open_type, update_cycle, publish_date,
		related, level, grade, tags, hosted, row_count, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?) RETURNING id`),
		r.Code, r.Name, r.NameEn, r.Provider, r.Region, r.Summary, r.Format, string(items),
		r.ShareType, r.ShareConditions, r.LegalBasis, r.OpenType, r.UpdateCycle, r.PublishDate,
		string(related), r.Level, r.Grade, string(tags), r.Hosted, r.CreatedAt, r.UpdatedAt).Scan(&id)
	if err != nil {
		if db.d.IsUniqueViolation(err) {
			return hutong.Errorf(hutong.ECONFLICT, "resource %s already exists", r.Code)
		}
		return internal(err)
	}
	if r.Hosted == hutong.HostedHub {
		return db.createRowTable(ctx, tx, id, r.Items)
	}
	return nil
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// UpdateResource replaces the metadata of an existing resource.
func (s *Catalog) UpdateResource(ctx context.Context, r *hutong.Resource) error {
	if vs := s.db.normalizeResource(r, 0); len(vs) > 0 {
		return hutong.Invalid("invalid resource", vs)
	}
	var oldID int64
	err := s.db.change(ctx, func(tx *sql.Tx) ([]*hutong.AuditEvent, error) {
		changed := []*hutong.AuditEvent{resourceEvent(hutong.AuditResourceChange, r, "updated")}
		old, err := s.db.storedResource(ctx, tx, r.Code)
		if err != nil {
			return nil, err
		}
		if err := s.db.announce(ctx, tx, noticeResource, r.Code); err != nil {
			return nil, err
		}
		oldID = old.id
		// Both the old and the new provider must be the actor's to manage.
		if err := authorizePublish(ctx, &old.Resource); err != nil {
			return nil, err
		}
		if err := authorizePublish(ctx, r); err != nil {
			return nil, err
		}
		if old.Provider != r.Provider {
			if vs := s.db.codeViolation(r, 0); len(vs) > 0 {
				return nil, hutong.Invalid("a resource moves to another provider only with a code of the new provider's", vs)
			}
		}
		itemsChanged := !sameItems(old.Items, r.Items) || old.Hosted != r.Hosted
		if itemsChanged && old.Rows > 0 {
			return nil, hutong.Errorf(hutong.ECONFLICT, "resource %s holds %d rows; its items and hosting cannot change until they are removed", r.Code, old.Rows)
		}
		r.CreatedAt, r.UpdatedAt, r.Rows = old.CreatedAt, utc(s.db.now()), old.Rows
		items, _ := json.Marshal(r.Items)
		related, _ := json.Marshal(orEmpty(r.Related))
		tags, _ := json.Marshal(orEmpty(r.Tags))
		_, err = tx.ExecContext(ctx, s.db.q(`UPDATE resources SET name = ?, name_en = ?, provider = ?, region = ?, summary = ?,
			format = ?, items = ?, share_type = ?, share_conditions = ?, legal_basis = ?, open_type = ?,
			update_cycle = ?, publish_date = ?, related = ?, level = ?, grade = ?, tags = ?, hosted = ?, updated_at = ?
			WHERE id = ?`),
			r.Name, r.NameEn, r.Provider, r.Region, r.Summary, r.Format, string(items), r.ShareType, r.ShareConditions,
			r.LegalBasis, r.OpenType, r.UpdateCycle, r.PublishDate, string(related), r.Level, r.Grade, string(tags),
			r.Hosted, r.UpdatedAt, old.id)
		if err != nil {
			return nil, internal(err)
		}
		if itemsChanged {
			if old.Hosted == hutong.HostedHub {
				if err := s.db.dropRowTable(ctx, tx, old.id); err != nil {
					return nil, err
				}
			}
			if r.Hosted == hutong.HostedHub {
				return changed, s.db.createRowTable(ctx, tx, old.id, r.Items)
			}
		}
		return changed, nil
	})
	s.db.forget(r.Code, oldID)
	if err != nil {
		return err
	}
	s.db.index.Put(indexDoc(r))
	return nil
}

func sameItems(a, b []hutong.Item) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Element != b[i].Element || a[i].Type != b[i].Type {
			return false
		}
	}
	return true
}

// DeleteResource removes a resource and its rows.
func (s *Catalog) DeleteResource(ctx context.Context, code string) error {
	if !validCode(code) {
		return hutong.Errorf(hutong.ENOTFOUND, "resource %q not found", code)
	}
	var oldID int64
	err := s.db.change(ctx, func(tx *sql.Tx) ([]*hutong.AuditEvent, error) {
		old, err := s.db.storedResource(ctx, tx, code)
		if err != nil {
			return nil, err
		}
		if err := s.db.announce(ctx, tx, noticeResource, code); err != nil {
			return nil, err
		}
		oldID = old.id
		if err := authorizePublish(ctx, &old.Resource); err != nil {
			return nil, err
		}
		var active int
		if err := tx.QueryRowContext(ctx, s.db.q(`SELECT COUNT(*) FROM agreements WHERE resource = ? AND revoked_at IS NULL AND valid_until > ?`),
			code, utc(s.db.now())).Scan(&active); err != nil {
			return nil, internal(err)
		}
		if active > 0 {
			return nil, hutong.Errorf(hutong.ECONFLICT, "resource %s has %d active agreements; revoke them before deleting it", code, active)
		}
		if _, err := tx.ExecContext(ctx, s.db.q(`DELETE FROM resources WHERE id = ?`), old.id); err != nil {
			return nil, internal(err)
		}
		deleted := []*hutong.AuditEvent{{Kind: hutong.AuditResourceChange, Resource: code, Provider: old.Provider, Department: old.Provider, Reason: "deleted"}}
		if old.Hosted == hutong.HostedHub {
			return deleted, s.db.dropRowTable(ctx, tx, old.id)
		}
		return deleted, nil
	})
	s.db.forget(code, oldID)
	if err != nil {
		return err
	}
	s.db.index.Delete(code)
	return nil
}

// ImportCatalog publishes rs all at once or not at all.
func (s *Catalog) ImportCatalog(ctx context.Context, rs []*hutong.Resource) error {
	if len(rs) == 0 {
		return hutong.Errorf(hutong.EINVALID, "the catalog sheet has no resources")
	}
	var vs []hutong.Violation
	seen := map[string]int{}
	for i, r := range rs {
		row := i + 1
		vs = append(vs, s.db.normalizeResource(r, row)...)
		vs = append(vs, s.db.codeViolation(r, row)...)
		if first, ok := seen[r.Code]; ok {
			vs = append(vs, hutong.Violation{Row: row, Field: "code", Rule: "duplicate", Message: fmt.Sprintf("code %s also appears in row %d", r.Code, first)})
		} else {
			seen[r.Code] = row
		}
	}
	for i, r := range rs {
		if s.db.department(r.Provider) == nil {
			continue // already a violation
		}
		if err := authorizePublish(ctx, r); err != nil {
			return hutong.Errorf(hutong.EFORBIDDEN, "resource %s (number %d of the sheet): %s; nothing imported", r.Code, i+1, hutong.ErrorMessage(err))
		}
	}
	if len(vs) == 0 {
		existing, err := s.db.resourcesByCode(ctx, keys(seen))
		if err != nil {
			return err
		}
		for i, r := range rs {
			if _, ok := existing[r.Code]; ok {
				vs = append(vs, hutong.Violation{Row: i + 1, Field: "code", Rule: "exists", Message: fmt.Sprintf("resource %s already exists", r.Code)})
			}
		}
	}
	if len(vs) > 0 {
		return hutong.Invalid(fmt.Sprintf("catalog sheet rejected, nothing imported (%d problems)", len(vs)), capViolations(vs))
	}
	now := utc(s.db.now())
	err := s.db.change(ctx, func(tx *sql.Tx) ([]*hutong.AuditEvent, error) {
		if err := s.db.announce(ctx, tx, noticeResource, "*"); err != nil {
			return nil, err
		}
		events := make([]*hutong.AuditEvent, len(rs))
		for i, r := range rs {
			r.CreatedAt, r.UpdatedAt, r.Rows = now, now, 0
			if err := s.db.insertResource(ctx, tx, r); err != nil {
				return nil, err
			}
			events[i] = resourceEvent(hutong.AuditResourcePublish, r, "catalog import")
		}
		return events, nil
	})
	if err != nil {
		return err
	}
	docs := make([]search.Doc, len(rs))
	for i, r := range rs {
		docs[i] = indexDoc(r)
	}
	s.db.index.PutAll(docs)
	return nil
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// capViolations keeps the first hutong.MaxViolations violations.
func capViolations(vs []hutong.Violation) []hutong.Violation {
	if len(vs) > hutong.MaxViolations {
		return vs[:hutong.MaxViolations]
	}
	return vs
}

// indexDoc returns what the search index keeps of r.
func indexDoc(r *hutong.Resource) search.Doc {
	items := make([]string, len(r.Items))
	for i, it := range r.Items {
		items[i] = it.Name
	}
	return search.Doc{
		Code:         r.Code,
		Name:         r.Name,
		NameEn:       r.NameEn,
		Summary:      r.Summary,
		Provider:     r.Provider,
		ProviderName: r.ProviderName,
		Region:       r.Region,
		ShareType:    string(r.ShareType),
		Level:        r.Level,
		Tags:         r.Tags,
		Items:        items,
	}
}

// loadIndex builds the search index from every resource in the database.
// It also removes the documents of resources no longer in the database, so
// that it can bring an index back in step after notices were missed.
func (db *DB) loadIndex(ctx context.Context) error {
	rows, err := db.ro.QueryContext(ctx, `SELECT `+resourceColumns+` FROM resources`)
	if err != nil {
		return fmt.Errorf("load catalog: %w", err)
	}
	defer rows.Close()
	var docs []search.Doc
	for rows.Next() {
		r, err := db.scanResource(rows)
		if err != nil {
			return fmt.Errorf("load catalog: %w", err)
		}
		docs = append(docs, indexDoc(&r.Resource))
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load catalog: %w", err)
	}
	db.index.PutAll(docs)
	live := make(map[string]bool, len(docs))
	for _, d := range docs {
		live[d.Code] = true
	}
	for _, code := range db.index.Codes() {
		if !live[code] {
			db.index.Delete(code)
		}
	}
	return nil
}
