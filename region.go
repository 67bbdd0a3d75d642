package hutong

import "context"

// Region is an administrative division (行政区) identified by its GB/T 2260
// six-digit code: 110000 北京市, 130100 石家庄市, 130102 长安区 …
type Region struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	NameEn string `json:"name_en,omitempty"`
	// Level is "province", "city" or "county".
	Level string `json:"level"`
	// Parent is the code of the enclosing division; "" for a province.
	Parent string `json:"parent,omitempty"`
	// Member reports whether the division belongs to a province that takes
	// part in this hub.
	Member bool `json:"member"`
}

// Region levels.
const (
	LevelProvince = "province"
	LevelCity     = "city"
	LevelCounty   = "county"
)

// Department is a government department (部门) that provides or consumes
// resources. ID is its 统一社会信用代码 (GB 32100), which is unique nationally.
type Department struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	NameEn string `json:"name_en,omitempty"`
	// Region is the GB/T 2260 code of the division the department serves.
	Region string `json:"region"`
	// Short is a short ASCII mnemonic used in resource codes, e.g. "TJYB".
	Short string `json:"short,omitempty"`
}

// RegionFilter selects regions. The zero value lists the hub's member
// provinces and their cities.
type RegionFilter struct {
	Parent string // only the direct children of this code
	Level  string // only divisions of this level
	All    bool   // every division of GB/T 2260, not only the member provinces
}

// DepartmentFilter selects departments.
type DepartmentFilter struct {
	Region string // departments of this division or of divisions under it
}

// DirectoryService holds the regions and departments of the hub.
type DirectoryService interface {
	// Regions returns the divisions that match f, ordered by code.
	Regions(ctx context.Context, f RegionFilter) ([]Region, error)

	// Region returns one division of GB/T 2260, or ENOTFOUND.
	Region(ctx context.Context, code string) (*Region, error)

	// Departments returns the departments that match f, ordered by region, then id.
	Departments(ctx context.Context, f DepartmentFilter) ([]Department, error)

	// Department returns one department by its 统一社会信用代码, or ENOTFOUND.
	Department(ctx context.Context, id string) (*Department, error)

	// CreateDepartment registers d. It returns EINVALID when the credit code
	// or the division code is not valid, ECONFLICT when the id exists, and
	// EFORBIDDEN unless the actor is a platform admin or the region admin of
	// d's province.
	CreateDepartment(ctx context.Context, d *Department) error
}

// RegionContains reports whether the division code lies within the division
// parent: a province (XX0000) contains every code starting with its two
// digits, a city (XXXX00) every code starting with its four, and any other
// code only itself. Both are GB/T 2260 six-digit codes.
func RegionContains(parent, code string) bool {
	if len(parent) != 6 || len(code) != 6 {
		return false
	}
	switch {
	case parent[2:] == "0000":
		return code[:2] == parent[:2]
	case parent[4:] == "00":
		return code[:4] == parent[:4]
	}
	return code == parent
}

// ProvinceOf returns the province code of a division code: 130102 → 130000.
func ProvinceOf(code string) string {
	if len(code) != 6 {
		return ""
	}
	return code[:2] + "0000"
}
