package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/standard"
)

// Directory implements hutong.DirectoryService. Regions come from the
// vendored GB/T 2260 list; departments from the database.
type Directory struct{ db *DB }

var _ hutong.DirectoryService = (*Directory)(nil)

// NewDirectory returns the directory service of db.
func NewDirectory(db *DB) *Directory { return &Directory{db: db} }

func (db *DB) isMember(code string) bool {
	return slices.Contains(db.members, hutong.ProvinceOf(code))
}

func (db *DB) region(d standard.Division) hutong.Region {
	return hutong.Region{
		Code:   d.Code,
		Name:   d.Name,
		NameEn: d.NameEn,
		Level:  d.Level,
		Parent: d.Parent,
		Member: db.isMember(d.Code),
	}
}

// Regions returns the divisions that match f. Without All, only divisions
// of member provinces are listed, and without Parent or Level only their
// provinces and cities.
func (s *Directory) Regions(ctx context.Context, f hutong.RegionFilter) ([]hutong.Region, error) {
	var divs []standard.Division
	if f.Parent != "" {
		if _, ok := standard.LookupDivision(f.Parent); !ok {
			return nil, hutong.Errorf(hutong.EINVALID, "parent %q is not a GB/T 2260 division code", f.Parent)
		}
		divs = standard.DivisionChildren(f.Parent)
	} else {
		divs = standard.Divisions()
	}
	switch f.Level {
	case "", hutong.LevelProvince, hutong.LevelCity, hutong.LevelCounty:
	default:
		return nil, hutong.Errorf(hutong.EINVALID, "level %q is not province, city or county", f.Level)
	}
	var out []hutong.Region
	for _, d := range divs {
		if !f.All && !s.db.isMember(d.Code) {
			continue
		}
		if f.Level != "" && d.Level != f.Level {
			continue
		}
		if f.Level == "" && f.Parent == "" && d.Level == hutong.LevelCounty && !isMunicipality(d.Parent) {
			continue
		}
		out = append(out, s.db.region(d))
	}
	return out, nil
}

// isMunicipality reports whether code is one of the four municipalities
// directly under the central government, whose districts stand where other
// provinces have cities.
func isMunicipality(code string) bool {
	switch code {
	case "110000", "120000", "310000", "500000":
		return true
	}
	return false
}

// Region returns one division of GB/T 2260.
func (s *Directory) Region(ctx context.Context, code string) (*hutong.Region, error) {
	d, ok := standard.LookupDivision(code)
	if !ok {
		return nil, hutong.Errorf(hutong.ENOTFOUND, "region %q is not a GB/T 2260 division code", code)
	}
	r := s.db.region(d)
	return &r, nil
}

// Departments returns the departments that match f.
func (s *Directory) Departments(ctx context.Context, f hutong.DepartmentFilter) ([]hutong.Department, error) {
	if f.Region != "" && !standard.ValidDivision(f.Region) {
		return nil, hutong.Errorf(hutong.EINVALID, "region %q is not a GB/T 2260 division code", f.Region)
	}
	s.db.deptMu.RLock()
	var out []hutong.Department
	for _, d := range s.db.depts {
		if f.Region == "" || hutong.RegionContains(f.Region, d.Region) {
			out = append(out, *d)
		}
	}
	s.db.deptMu.RUnlock()
	slices.SortFunc(out, func(a, b hutong.Department) int {
		return cmp.Or(cmp.Compare(a.Region, b.Region), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// Department returns one department.
func (s *Directory) Department(ctx context.Context, id string) (*hutong.Department, error) {
	d := s.db.department(id)
	if d == nil {
		return nil, hutong.Errorf(hutong.ENOTFOUND, "department %q not found", id)
	}
	return d, nil
}

// department returns a copy of the cached department id, or nil.
func (db *DB) department(id string) *hutong.Department {
	db.deptMu.RLock()
	defer db.deptMu.RUnlock()
	d, ok := db.depts[id]
	if !ok {
		return nil
	}
	c := *d
	return &c
}

// CreateDepartment validates and stores d.
func (s *Directory) CreateDepartment(ctx context.Context, d *hutong.Department) error {
	if err := validateDepartment(d); err != nil {
		return err
	}
	if !hutong.ActorFromContext(ctx).AdministersRegion(d.Region) {
		return hutong.Errorf(hutong.EFORBIDDEN, "only a platform admin or the region admin of %s may register departments there", hutong.ProvinceOf(d.Region))
	}
	if !s.db.isMember(d.Region) {
		return hutong.Invalid("invalid department", []hutong.Violation{{Field: "region", Rule: "not_member", Message: fmt.Sprintf("region %s is not in a member province of this hub", d.Region)}})
	}
	// The short code is the department's namespace of resource codes: one
	// is given when none is asked for, and no two departments share one.
	d.Short = strings.ToUpper(d.Short)
	if s.db.department(d.ID) != nil {
		return hutong.Errorf(hutong.ECONFLICT, "department %s already exists", d.ID)
	}
	if d.Short == "" {
		d.Short = s.db.freeShort("D" + d.ID[8:16])
	} else if other := s.db.departmentByShort(d.Short); other != nil {
		return hutong.Invalid("invalid department", []hutong.Violation{{Field: "short", Rule: "duplicate", Message: fmt.Sprintf("short code %s is %s's", d.Short, other.Name)}})
	}
	err := s.db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.db.q(`INSERT INTO departments (id, name, name_en, region, short, created_at) VALUES (?, ?, ?, ?, ?, ?)`),
			d.ID, d.Name, d.NameEn, d.Region, d.Short, utc(s.db.now()))
		if err != nil {
			return err
		}
		return s.db.announce(ctx, tx, noticeDepartment, d.ID)
	})
	if err != nil {
		if s.db.d.IsUniqueViolation(err) {
			return hutong.Errorf(hutong.ECONFLICT, "department %s, or one with short code %s, already exists", d.ID, d.Short)
		}
		return internal(err)
	}
	s.db.deptMu.Lock()
	c := *d
	s.db.depts[d.ID] = &c
	s.db.deptMu.Unlock()
	return nil
}

// departmentByShort returns the department whose short code is short, or nil.
func (db *DB) departmentByShort(short string) *hutong.Department {
	db.deptMu.RLock()
	defer db.deptMu.RUnlock()
	for _, d := range db.depts {
		if strings.EqualFold(d.Short, short) {
			return d
		}
	}
	return nil
}

// freeShort returns base, or base with a number, whichever no department
// has.
func (db *DB) freeShort(base string) string {
	short := base
	for i := 2; db.departmentByShort(short) != nil; i++ {
		short = fmt.Sprintf("%s%d", base, i)
	}
	return short
}

func validateDepartment(d *hutong.Department) error {
	var vs []hutong.Violation
	d.ID = strings.ToUpper(strings.TrimSpace(d.ID))
	d.Name = strings.TrimSpace(d.Name)
	if el, ok := standard.LookupElement("uscc"); ok {
		if _, err := standard.Parse(el, d.ID); err != nil {
			vs = append(vs, ruleViolation(0, "id", err))
		}
	}
	if d.Name == "" || utf8.RuneCountInString(d.Name) > 100 {
		vs = append(vs, hutong.Violation{Field: "name", Rule: "length", Message: "name must have 1 to 100 characters"})
	}
	if !standard.ValidDivision(d.Region) {
		vs = append(vs, hutong.Violation{Field: "region", Rule: "unknown_division", Message: fmt.Sprintf("%q is not a GB/T 2260 division code", d.Region)})
	}
	if d.Short != "" && !validShort(d.Short) {
		vs = append(vs, hutong.Violation{Field: "short", Rule: "format", Message: "short must be 1 to 16 ASCII letters or digits"})
	}
	if len(vs) > 0 {
		return hutong.Invalid("invalid department", vs)
	}
	return nil
}

func validShort(s string) bool {
	if len(s) == 0 || len(s) > 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// ruleViolation turns a validation error of the standard package into a
// violation at row and field.
func ruleViolation(row int, field string, err error) hutong.Violation {
	var re *standard.RuleError
	if errors.As(err, &re) {
		return re.Violation(row, field)
	}
	return hutong.Violation{Row: row, Field: field, Rule: "invalid", Message: err.Error()}
}

func (db *DB) loadDepartments(ctx context.Context) error {
	rows, err := db.ro.QueryContext(ctx, `SELECT id, name, name_en, region, short FROM departments`)
	if err != nil {
		return fmt.Errorf("load departments: %w", err)
	}
	defer rows.Close()
	depts := map[string]*hutong.Department{}
	for rows.Next() {
		var d hutong.Department
		if err := rows.Scan(&d.ID, &d.Name, &d.NameEn, &d.Region, &d.Short); err != nil {
			return fmt.Errorf("load departments: %w", err)
		}
		depts[d.ID] = &d
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load departments: %w", err)
	}
	db.deptMu.Lock()
	db.depts = depts
	db.deptMu.Unlock()
	return nil
}
