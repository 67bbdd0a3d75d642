package sensors

import "slices"

// JJJNeighbours are the 13 京津冀 cities' land borders: Beijing and
// Tianjin (municipalities, by their province codes) and Hebei's 11
// prefecture-level cities. Each pair is listed under both cities.
var JJJNeighbours = symmetric(map[string][]string{
	"110000": {"120000", "130600", "130700", "130800", "131000"}, // 北京: 天津, 保定, 张家口, 承德, 廊坊
	"120000": {"130200", "130800", "130900", "131000"},           // 天津: 唐山, 承德, 沧州, 廊坊
	"130100": {"130500", "130600", "131100"},                     // 石家庄: 邢台, 保定, 衡水
	"130200": {"130300", "130800"},                               // 唐山: 秦皇岛, 承德
	"130300": {"130800"},                                         // 秦皇岛: 承德
	"130400": {"130500"},                                         // 邯郸: 邢台
	"130500": {"131100"},                                         // 邢台: 衡水
	"130600": {"130700", "130900", "131000", "131100"},           // 保定: 张家口, 沧州, 廊坊, 衡水
	"130700": {"130800"},                                         // 张家口: 承德
	"130900": {"131000", "131100"},                               // 沧州: 廊坊, 衡水
})

// symmetric returns m with every pair listed under both of its cities,
// each list sorted.
func symmetric(m map[string][]string) map[string][]string {
	out := map[string][]string{}
	for a, bs := range m {
		for _, b := range bs {
			if !slices.Contains(out[a], b) {
				out[a] = append(out[a], b)
			}
			if !slices.Contains(out[b], a) {
				out[b] = append(out[b], a)
			}
		}
	}
	for _, bs := range out {
		slices.Sort(bs)
	}
	return out
}

// CityOf returns the city a division belongs to: a municipality's
// province code (北京, 天津, 上海, 重庆) or a prefecture's code (its first four
// digits and 00).
func CityOf(region string) string {
	if len(region) != 6 {
		return region
	}
	switch region[:2] {
	case "11", "12", "31", "50":
		return region[:2] + "0000"
	}
	return region[:4] + "00"
}
