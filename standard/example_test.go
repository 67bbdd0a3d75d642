package standard_test

import (
	"errors"
	"fmt"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/standard"
)

func ExampleParse() {
	e, _ := standard.LookupElement("citizen_id")
	v, err := standard.Parse(e, " 11010519491231002x ")
	fmt.Println(v, err)

	_, err = standard.Parse(e, "110105194912310025")
	var re *standard.RuleError
	if errors.As(err, &re) {
		fmt.Println(re.Rule+":", re.Message)
	}
	// Output:
	// 11010519491231002X <nil>
	// check_digit: check digit is "5", want "X" (GB 11643 ISO 7064 MOD 11-2)
}

func ExampleCitizenIDCheck() {
	c, _ := standard.CitizenIDCheck("11010519491231002")
	fmt.Printf("%c\n", c)
	// Output: X
}

func ExampleUSCCCheck() {
	c, _ := standard.USCCCheck("91350100M000100Y4")
	fmt.Printf("%c\n", c)
	// Output: 3
}

func ExampleMasker_MaskString() {
	m := &standard.Masker{Key: []byte("a secret of the hub")}
	fmt.Println(m.MaskString(hutong.MaskIDNumber, "110101199003071234"))
	fmt.Println(m.MaskString(hutong.MaskMobile, "13812345678"))
	fmt.Println(m.MaskString(hutong.MaskAddress, "北京市东城区景山前街4号"))
	fmt.Println(m.MaskString(hutong.MaskName, "欧阳娜娜"))
	// Output:
	// 110101********1234
	// 138****5678
	// 北京市东城区****
	// 欧***
}

func ExampleDivisionChildren() {
	for _, d := range standard.DivisionChildren("130000")[:3] {
		fmt.Println(d.Code, d.Name, d.NameEn)
	}
	// Output:
	// 130100 石家庄市 Shijiazhuang
	// 130200 唐山市 Tangshan
	// 130300 秦皇岛市 Qinhuangdao
}
