package demo

// province is one of the demo's three member provinces with the cities
// whose sensors, roads and statistics the demo generates. Figures are
// rounded public orders of magnitude used as the base of the synthetic
// series, not official statistics.
type province struct {
	code   string // GB/T 2260
	name   string // 北京市
	nameEn string
	short  string // BJ: prefix of department mnemonics
	abbr   string // 京: plate prefix
	plates string // plate authority letters in use
	cities []city
}

type city struct {
	code     string
	name     string
	nameEn   string
	areaCode string  // telephone area code
	stations int     // air-quality monitoring stations
	pm25     float64 // typical PM2.5 in μg/m³, the base of the series
	gdp      float64 // GDP of the last year, 亿元
	pop      float64 // resident population of the last year, 万人
	growth   float64 // typical yearly real GDP growth
}

var provinces = []province{
	{code: "110000", name: "北京市", nameEn: "Beijing", short: "BJ", abbr: "京", plates: "ABCEFGHJKLMNPQ",
		cities: []city{{code: "110000", name: "北京市", nameEn: "Beijing", areaCode: "010", stations: 4, pm25: 34, gdp: 49843, pop: 2183, growth: 0.065}}},
	{code: "120000", name: "天津市", nameEn: "Tianjin", short: "TJ", abbr: "津", plates: "ABCDEFGHJKLMN",
		cities: []city{{code: "120000", name: "天津市", nameEn: "Tianjin", areaCode: "022", stations: 3, pm25: 41, gdp: 18024, pop: 1363, growth: 0.07}}},
	{code: "130000", name: "河北省", nameEn: "Hebei", short: "HB", abbr: "冀", plates: "ABCDEFGHJRT",
		cities: []city{
			{code: "130100", name: "石家庄市", nameEn: "Shijiazhuang", areaCode: "0311", stations: 2, pm25: 58, gdp: 8203, pop: 1123, growth: 0.072},
			{code: "130200", name: "唐山市", nameEn: "Tangshan", areaCode: "0315", stations: 2, pm25: 50, gdp: 9400, pop: 770, growth: 0.07},
			{code: "130300", name: "秦皇岛市", nameEn: "Qinhuangdao", areaCode: "0335", stations: 2, pm25: 31, gdp: 2000, pop: 311, growth: 0.06},
			{code: "130400", name: "邯郸市", nameEn: "Handan", areaCode: "0310", stations: 2, pm25: 55, gdp: 4700, pop: 936, growth: 0.065},
			{code: "130500", name: "邢台市", nameEn: "Xingtai", areaCode: "0319", stations: 2, pm25: 56, gdp: 2600, pop: 700, growth: 0.066},
			{code: "130600", name: "保定市", nameEn: "Baoding", areaCode: "0312", stations: 2, pm25: 53, gdp: 4000, pop: 1150, growth: 0.068},
			{code: "130700", name: "张家口市", nameEn: "Zhangjiakou", areaCode: "0313", stations: 2, pm25: 24, gdp: 1850, pop: 410, growth: 0.062},
			{code: "130800", name: "承德市", nameEn: "Chengde", areaCode: "0314", stations: 2, pm25: 27, gdp: 1800, pop: 330, growth: 0.062},
			{code: "130900", name: "沧州市", nameEn: "Cangzhou", areaCode: "0317", stations: 2, pm25: 45, gdp: 4800, pop: 730, growth: 0.068},
			{code: "131000", name: "廊坊市", nameEn: "Langfang", areaCode: "0316", stations: 2, pm25: 44, gdp: 3800, pop: 550, growth: 0.07},
			{code: "131100", name: "衡水市", nameEn: "Hengshui", areaCode: "0318", stations: 2, pm25: 49, gdp: 1900, pop: 420, growth: 0.064},
		}},
}

// road is a road segment with a traffic detector.
type road struct {
	code, segment, city string
	capacity            int // vehicles per hour at saturation
	freeSpeed           float64
}

var roads = map[string][]road{
	"110000": {
		{"G1", "京哈高速五环至六环段", "110105", 6000, 100}, {"G2", "京沪高速四方桥至旧宫段", "110105", 6500, 100},
		{"G4", "京港澳高速杜家坎至琉璃河段", "110106", 7000, 100}, {"G6", "京藏高速健翔桥至沙河段", "110108", 7500, 90},
		{"G7", "京新高速箭亭桥至北六环段", "110108", 5000, 100}, {"G45", "大广高速采育至礼贤段", "110115", 4500, 110},
		{"G95", "首都地区环线通州段", "110112", 4000, 110}, {"S12", "机场高速三元桥至T3段", "110105", 6000, 100},
	},
	"120000": {
		{"G2", "京沪高速天津段", "120114", 6000, 110}, {"G18", "荣乌高速天津段", "120116", 4500, 110},
		{"G25", "长深高速天津段", "120116", 4000, 110}, {"S1", "津蓟高速", "120113", 3500, 110},
		{"G4", "京港澳高速", "120111", 3000, 110}, {"S30", "京津高速", "120113", 5000, 110},
	},
	"130000": {
		{"G4", "京港澳高速石家庄段", "130100", 6000, 110}, {"G1", "京哈高速唐山段", "130200", 5000, 110},
		{"G1", "京哈高速秦皇岛段", "130300", 3500, 110}, {"G4", "京港澳高速邯郸段", "130400", 5000, 110},
		{"G20", "青银高速邢台段", "130500", 3500, 110}, {"G5", "京昆高速保定段", "130600", 4500, 110},
		{"G6", "京藏高速张家口段", "130700", 3000, 110}, {"G45", "大广高速承德段", "130800", 2500, 110},
		{"G18", "荣乌高速沧州段", "130900", 3500, 110}, {"G95", "首都地区环线廊坊段", "131000", 4000, 110},
		{"G20", "青银高速衡水段", "131100", 3000, 110},
	},
}
