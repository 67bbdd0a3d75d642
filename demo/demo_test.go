package demo

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/standard"
)

// digest hashes every row of every demo resource, in order.
func digest(t *testing.T, o Options) (uint64, int) {
	t.Helper()
	h := fnv.New64a()
	total := 0
	for _, r := range Resources(Departments(o.Seed)) {
		src := rowsOf(r.Code, o)
		if src == nil {
			continue
		}
		for {
			_, row, err := src.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			keys := make([]string, 0, len(row))
			for k := range row {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(h, "%s=%s;", k, row[k])
			}
			total++
		}
	}
	return h.Sum64(), total
}

func TestDeterministic(t *testing.T) {
	o := Options{Seed: 7, Scale: 0.05}
	a, n := digest(t, o)
	b, _ := digest(t, o)
	c, _ := digest(t, Options{Seed: 8, Scale: 0.05})
	if a != b {
		t.Errorf("same seed gave different data")
	}
	if a == c {
		t.Errorf("different seeds gave the same data")
	}
	if n == 0 {
		t.Fatal("no rows")
	}
	if id, again, other := Departments(1)[0].ID, Departments(1)[0].ID, Departments(2)[0].ID; id != again || id == other {
		t.Errorf("department ids are not a function of the seed")
	}
}

// TestFullScale checks the size the product promises: at least 12
// departments, 30 resources across every share type and level, and
// 100,000 rows, every value valid against its element.
func TestFullScale(t *testing.T) {
	if testing.Short() {
		t.Skip("generates every demo row")
	}
	o := Options{}.withDefaults()
	depts := Departments(o.Seed)
	if len(depts) < 12 {
		t.Errorf("%d departments, want at least 12", len(depts))
	}
	for _, d := range depts {
		if _, err := standard.Parse(mustElement(t, "uscc"), d.ID); err != nil {
			t.Errorf("department %s has invalid id %s: %v", d.Name, d.ID, err)
		}
	}
	resources := Resources(depts)
	shares, levels := map[hutong.ShareType]int{}, map[int]int{}
	for _, r := range resources {
		shares[r.ShareType]++
		levels[r.Level]++
	}
	if len(resources) < 30 || len(shares) != 3 {
		t.Errorf("%d resources with share types %v; want at least 30 across all three", len(resources), shares)
	}
	for l := 1; l <= 4; l++ {
		if levels[l] == 0 {
			t.Errorf("no resource at declared level %d", l)
		}
	}
	total := 0
	for _, r := range resources {
		src := rowsOf(r.Code, o)
		if src == nil {
			continue
		}
		for {
			num, row, err := src.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			total++
			for _, it := range r.Items {
				v := row[it.Name]
				if v == "" {
					if it.Required {
						t.Fatalf("%s row %d: required %s is empty", r.Code, num, it.Name)
					}
					continue
				}
				if _, err := standard.Parse(mustElement(t, it.Element), v); err != nil {
					t.Fatalf("%s row %d: %s=%q: %v", r.Code, num, it.Name, v, err)
				}
			}
			for k := range row {
				if r.Item(k) == nil {
					t.Fatalf("%s row %d: %q is not an item", r.Code, num, k)
				}
			}
		}
	}
	if total < 100_000 {
		t.Errorf("%d rows, want at least 100,000", total)
	}
	t.Logf("%d departments, %d resources, %d rows", len(depts), len(resources), total)
}

func TestAirQualityFollowsHJ633(t *testing.T) {
	tests := []struct {
		pollutant string
		c, want   float64
	}{
		{"PM2.5", 35, 50}, {"PM2.5", 75, 100}, {"PM2.5", 55, 75}, {"PM2.5", 600, 500},
		{"PM10", 150, 100}, {"O3", 200, 100}, {"CO", 5, 50}, {"NO2", 0, 0},
	}
	for _, tt := range tests {
		if got := iaqi(tt.pollutant, tt.c); got != tt.want {
			t.Errorf("IAQI(%s, %v) = %v, want %v", tt.pollutant, tt.c, got, tt.want)
		}
	}
	src := rowsOf("130000-HBHJ-05", Options{Seed: 1, Scale: 0.1})
	good, bad := 0, 0
	for {
		_, row, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		aqi, err := strconv.Atoi(row["AQI"])
		if err != nil {
			t.Fatalf("AQI %q: %v", row["AQI"], err)
		}
		switch primary := row["首要污染物"]; {
		case aqi <= 50 && primary != "":
			t.Fatalf("AQI %d with primary pollutant %s; HJ 633 names none up to 50", aqi, primary)
		case aqi > 50 && primary == "":
			t.Fatalf("AQI %d without a primary pollutant", aqi)
		case aqi <= 50:
			good++
		default:
			bad++
		}
	}
	if good == 0 || bad == 0 {
		t.Errorf("%d good and %d polluted hours; the series should have both", good, bad)
	}
}

func TestResourceCodes(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Resources(Departments(1)) {
		if seen[r.Code] || !strings.HasPrefix(r.Code, r.Region) {
			t.Errorf("code %s repeated or not prefixed by its region %s", r.Code, r.Region)
		}
		seen[r.Code] = true
	}
}

func mustElement(t *testing.T, id string) hutong.Element {
	t.Helper()
	el, ok := standard.LookupElement(id)
	if !ok {
		t.Fatalf("no element %s", id)
	}
	return el
}
