package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"

	"github.com/hutong/hutong"
)

// Services implements hutong.ServiceStore: services' definitions,
// applicants' identities and applications. Every change to an
// application goes through the audit outbox with its event.
type Services struct{ db *DB }

var _ hutong.ServiceStore = (*Services)(nil)

// NewServices returns the service store of db.
func NewServices(db *DB) *Services { return &Services{db: db} }

// PutService stores s, replacing the service of its code.
func (s *Services) PutService(ctx context.Context, svc *hutong.Service) error {
	if vs := hutong.CheckService(svc); len(vs) > 0 {
		return hutong.Invalid("invalid service", vs)
	}
	doc, err := json.Marshal(svc)
	if err != nil {
		return internal(err)
	}
	a := hutong.ActorFromContext(ctx)
	ev := &hutong.AuditEvent{Time: s.db.now(), Kind: "service.put", Actor: a.String(), Department: svc.Handling, Purpose: svc.Purpose(), Decision: "allow"}
	return s.db.change(ctx, func(tx *sql.Tx) ([]*hutong.AuditEvent, error) {
		res, err := tx.ExecContext(ctx, s.db.q(`UPDATE services SET doc = ? WHERE code = ?`), string(doc), svc.Code)
		if err != nil {
			return nil, internal(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if _, err := tx.ExecContext(ctx, s.db.q(`INSERT INTO services (code, doc) VALUES (?, ?)`), svc.Code, string(doc)); err != nil {
				return nil, internal(err)
			}
		}
		return []*hutong.AuditEvent{ev}, nil
	})
}

// Service returns one service, or ENOTFOUND.
func (s *Services) Service(ctx context.Context, code string) (*hutong.Service, error) {
	var doc string
	err := s.db.ro.QueryRowContext(ctx, s.db.q(`SELECT doc FROM services WHERE code = ?`), code).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hutong.Errorf(hutong.ENOTFOUND, "service %q not found", hutong.ClipText(code, 64))
	}
	if err != nil {
		return nil, internal(err)
	}
	var svc hutong.Service
	if err := json.Unmarshal([]byte(doc), &svc); err != nil {
		return nil, internal(err)
	}
	return &svc, nil
}

// Services lists every service by code.
func (s *Services) Services(ctx context.Context) ([]*hutong.Service, error) {
	return queryDocs[hutong.Service](ctx, s.db, `SELECT doc FROM services ORDER BY code`)
}

// queryDocs runs q, whose one column is a JSON document of a T, and
// decodes each row.
func queryDocs[T any](ctx context.Context, db *DB, q string, args ...any) ([]*T, error) {
	rows, err := db.ro.QueryContext(ctx, db.q(q), args...)
	if err != nil {
		return nil, internal(err)
	}
	defer rows.Close()
	out := []*T{}
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, internal(err)
		}
		v := new(T)
		if err := json.Unmarshal([]byte(doc), v); err != nil {
			return nil, internal(err)
		}
		out = append(out, v)
	}
	return out, internal(rows.Err())
}

// PutApplicant records the identity of the applicant user login.
func (s *Services) PutApplicant(ctx context.Context, login string, a hutong.Applicant) error {
	if a.Kind != hutong.IDPerson && a.Kind != hutong.IDEnterprise || a.Number == "" {
		return hutong.Errorf(hutong.EINVALID, "an applicant has an id_kind (citizen_id or uscc) and an id_number")
	}
	ev := &hutong.AuditEvent{Time: s.db.now(), Kind: "applicant.put", Actor: hutong.ActorFromContext(ctx).String(), Decision: "allow", Reason: "identity of " + login}
	return s.db.change(ctx, func(tx *sql.Tx) ([]*hutong.AuditEvent, error) {
		if _, err := tx.ExecContext(ctx, s.db.q(`DELETE FROM applicants WHERE login = ?`), login); err != nil {
			return nil, internal(err)
		}
		if _, err := tx.ExecContext(ctx, s.db.q(`INSERT INTO applicants (login, id_kind, id_number, region) VALUES (?, ?, ?, ?)`),
			login, string(a.Kind), a.Number, a.Region); err != nil {
			return nil, internal(err)
		}
		return []*hutong.AuditEvent{ev}, nil
	})
}

// ApplicantOf returns the identity of the applicant user login, or ENOTFOUND.
func (s *Services) ApplicantOf(ctx context.Context, login string) (*hutong.Applicant, error) {
	var a hutong.Applicant
	var kind string
	err := s.db.ro.QueryRowContext(ctx, s.db.q(`SELECT id_kind, id_number, region FROM applicants WHERE login = ?`), login).Scan(&kind, &a.Number, &a.Region)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hutong.Errorf(hutong.ENOTFOUND, "user %q has no applicant identity", hutong.ClipText(login, 64))
	}
	if err != nil {
		return nil, internal(err)
	}
	a.Kind = hutong.IDKind(kind)
	return &a, nil
}

// CreateApplication stores a new application and records ev.
func (s *Services) CreateApplication(ctx context.Context, a *hutong.Application, ev *hutong.AuditEvent) error {
	a.Version = 1
	doc, err := json.Marshal(a)
	if err != nil {
		return internal(err)
	}
	return s.db.change(ctx, func(tx *sql.Tx) ([]*hutong.AuditEvent, error) {
		_, err := tx.ExecContext(ctx, s.db.q(`INSERT INTO applications (id, service, applicant_kind, applicant_number, handling, status, created, version, doc)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`), a.ID, a.Service, string(a.Applicant.Kind), a.Applicant.Number, a.Handling, string(a.Status),
			a.CreatedAt.UnixMicro(), a.Version, string(doc))
		if err != nil {
			if s.db.d.IsUniqueViolation(err) {
				return nil, hutong.Errorf(hutong.ECONFLICT, "application %s exists", a.ID)
			}
			return nil, internal(err)
		}
		return events(ev), nil
	})
}

func events(ev *hutong.AuditEvent) []*hutong.AuditEvent {
	if ev == nil {
		return nil
	}
	return []*hutong.AuditEvent{ev}
}

// UpdateApplication stores a's changes and records evs; a stale version is
// ECONFLICT.
func (s *Services) UpdateApplication(ctx context.Context, a *hutong.Application, evs ...*hutong.AuditEvent) error {
	was := a.Version
	a.Version++
	doc, err := json.Marshal(a)
	if err != nil {
		a.Version = was
		return internal(err)
	}
	err = s.db.change(ctx, func(tx *sql.Tx) ([]*hutong.AuditEvent, error) {
		res, err := tx.ExecContext(ctx, s.db.q(`UPDATE applications SET status = ?, version = ?, doc = ? WHERE id = ? AND version = ?`),
			string(a.Status), a.Version, string(doc), a.ID, was)
		if err != nil {
			return nil, internal(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return nil, internal(err)
		} else if n == 0 {
			return nil, hutong.Errorf(hutong.ECONFLICT, "application %s changed meanwhile; read it again", a.ID)
		}
		return evs, nil
	})
	if err != nil {
		a.Version = was
	}
	return err
}

// Application returns one application, or ENOTFOUND.
func (s *Services) Application(ctx context.Context, id string) (*hutong.Application, error) {
	var doc string
	err := s.db.ro.QueryRowContext(ctx, s.db.q(`SELECT doc FROM applications WHERE id = ?`), id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hutong.Errorf(hutong.ENOTFOUND, "application %q not found", hutong.ClipText(id, 64))
	}
	if err != nil {
		return nil, internal(err)
	}
	var a hutong.Application
	if err := json.Unmarshal([]byte(doc), &a); err != nil {
		return nil, internal(err)
	}
	return &a, nil
}

// maxApplications bounds one list.
const maxApplications = 500

// Applications lists applications that match f, newest first.
func (s *Services) Applications(ctx context.Context, f hutong.ApplicationFilter) ([]*hutong.Application, error) {
	q := `SELECT doc FROM applications WHERE 1 = 1`
	var args []any
	if f.Service != "" {
		q += ` AND service = ?`
		args = append(args, f.Service)
	}
	if f.Status != "" {
		q += ` AND status = ?`
		args = append(args, string(f.Status))
	}
	if f.Handling != "" {
		q += ` AND handling = ?`
		args = append(args, f.Handling)
	}
	if f.Applicant != nil {
		q += ` AND applicant_kind = ? AND applicant_number = ?`
		args = append(args, string(f.Applicant.Kind), f.Applicant.Number)
	}
	limit := f.Limit
	if limit <= 0 || limit > maxApplications {
		limit = maxApplications
	}
	q += ` ORDER BY created DESC, id LIMIT ?`
	args = append(args, limit)
	return queryDocs[hutong.Application](ctx, s.db, q, args...)
}

// AddUpload stores data as a's last upload with a's changes and evs.
func (s *Services) AddUpload(ctx context.Context, a *hutong.Application, data []byte, evs ...*hutong.AuditEvent) error {
	if len(a.Uploads) == 0 {
		return hutong.Errorf(hutong.EINVALID, "the application lists no upload to store")
	}
	n := a.Uploads[len(a.Uploads)-1].N
	was := a.Version
	a.Version++
	doc, err := json.Marshal(a)
	if err != nil {
		a.Version = was
		return internal(err)
	}
	err = s.db.change(ctx, func(tx *sql.Tx) ([]*hutong.AuditEvent, error) {
		res, err := tx.ExecContext(ctx, s.db.q(`UPDATE applications SET status = ?, version = ?, doc = ? WHERE id = ? AND version = ?`),
			string(a.Status), a.Version, string(doc), a.ID, was)
		if err != nil {
			return nil, internal(err)
		}
		if k, err := res.RowsAffected(); err != nil {
			return nil, internal(err)
		} else if k == 0 {
			return nil, hutong.Errorf(hutong.ECONFLICT, "application %s changed meanwhile; read it again", a.ID)
		}
		if _, err := tx.ExecContext(ctx, s.db.q(`INSERT INTO application_uploads (app, n, data) VALUES (?, ?, ?)`), a.ID, n, data); err != nil {
			if s.db.d.IsUniqueViolation(err) {
				return nil, hutong.Errorf(hutong.ECONFLICT, "upload %d of %s exists", n, a.ID)
			}
			return nil, internal(err)
		}
		return evs, nil
	})
	if err != nil {
		a.Version = was
	}
	return err
}

// UploadData returns the bytes of an upload, or ENOTFOUND.
func (s *Services) UploadData(ctx context.Context, id string, n int) ([]byte, error) {
	var data []byte
	err := s.db.ro.QueryRowContext(ctx, s.db.q(`SELECT data FROM application_uploads WHERE app = ? AND n = ?`), id, n).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, hutong.Errorf(hutong.ENOTFOUND, "application %s has no upload %d", hutong.ClipText(id, 64), n)
	}
	if err != nil {
		return nil, internal(err)
	}
	return data, nil
}
