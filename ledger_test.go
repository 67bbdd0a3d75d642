package hutong

import "testing"

// TestMayOpenMatrix checks, role by role and entry kind by entry kind, who
// sees an entry in full and who sees its commitment only. The expected
// cells are written out, not derived from MayOpen's rules.
func TestMayOpenMatrix(t *testing.T) {
	// Beijing's big-data bureau (110000) reads Tianjin's social security
	// bureau (120000); Hebei (130000) is a third party.
	const consumer, provider, third = "110000-BJSJ", "120000-TJSB", "130000-HBHJ"
	regions := map[string]string{consumer: "110000", provider: "120101", third: "130000"}
	regionOf := func(d string) string { return regions[d] }
	user := func(dept, region string, roles ...Role) *Actor {
		return &Actor{User: &User{Login: "u", Department: dept, Region: region, Roles: roles}}
	}
	actors := []struct {
		name string
		a    *Actor
	}{
		{"admin", user("", "", RoleAdmin)},
		{"auditor", user("", "", RoleAuditor)},
		{"consumer's user", user(consumer, "", RoleConsumer)},
		{"consumer's key", &Actor{Credential: &Credential{ID: "k", Department: consumer}}},
		{"provider's steward", user(provider, "", RoleSteward)},
		{"third department's steward", user(third, "", RoleSteward)},
		{"third department's key", &Actor{Credential: &Credential{ID: "k3", Department: third}}},
		{"consumer's region admin", user("", "110000", RoleRegionAdmin)},
		{"provider's region admin", user("", "120000", RoleRegionAdmin)},
		{"third region's admin", user("", "130000", RoleRegionAdmin)},
		{"provider's node", &Actor{Node: "120000"}},
		{"consumer's node", &Actor{Node: "110000"}},
		{"nobody", nil},
	}
	// Each kind's entry as the hub records it.
	kinds := []struct {
		kind       string
		dept, prov string
	}{
		{AuditRead, consumer, provider},
		{AuditExport, consumer, provider},
		{AuditExportDone, consumer, provider},
		{AuditRequest, consumer, provider},
		{AuditApprove, consumer, provider},
		{AuditReject, consumer, provider},
		{AuditRefuse, consumer, provider},
		{AuditAgreement, consumer, provider},
		{AuditRevoke, consumer, provider},
		{AuditKeyCreate, consumer, ""},
		{AuditKeyRevoke, consumer, ""},
		{AuditResourcePublish, provider, provider},
		{AuditResourceChange, provider, provider},
		{AuditNodeToken, "", ""},
		{AuditNodeEnrol, "", ""},
		{AuditNodeRevoke, "", ""},
		{AuditNodeRefuse, "", ""},
		{"ledger.handover", "", ""},
	}
	// want[actor][kind group]: F the entry and its salt, S the commitment
	// only. Groups: exchange and
	// sharing (consumer ↔ provider), key (consumer only), resource
	// (provider only), platform (no department).
	group := map[string]int{AuditKeyCreate: 1, AuditKeyRevoke: 1, AuditResourcePublish: 2, AuditResourceChange: 2,
		AuditNodeToken: 3, AuditNodeEnrol: 3, AuditNodeRevoke: 3, AuditNodeRefuse: 3, "ledger.handover": 3}
	want := map[string]string{
		//                           sharing key resource platform
		"admin":                      "FFFF",
		"auditor":                    "FFFF",
		"consumer's user":            "FFSS",
		"consumer's key":             "FFSS",
		"provider's steward":         "FSFS",
		"third department's steward": "SSSS",
		"third department's key":     "SSSS",
		"consumer's region admin":    "FFSS",
		"provider's region admin":    "FSFS",
		"third region's admin":       "SSSS",
		"provider's node":            "FSFS",
		"consumer's node":            "SSSS",
		"nobody":                     "SSSS",
	}
	for _, ac := range actors {
		for _, k := range kinds {
			ev := &AuditEvent{Kind: k.kind, Department: k.dept, Provider: k.prov}
			got := "S"
			if ac.a.MayOpen(ev, regionOf) {
				got = "F"
			}
			if w := want[ac.name][group[k.kind] : group[k.kind]+1]; got != w {
				t.Errorf("%s × %s: %s, want %s", ac.name, k.kind, got, w)
			}
		}
	}
}
