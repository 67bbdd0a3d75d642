package hutong_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/hutong/hutong"
)

func TestCheckWebhookURL(t *testing.T) {
	for _, tt := range []struct {
		url      string
		insecure bool
		allowed  []string
		ok       bool
	}{
		{"https://hooks.example.gov.cn/hutong", false, nil, true},
		{"https://203.0.114.9/x", false, nil, true},
		{"http://hooks.example.gov.cn/hutong", false, nil, false},
		{"http://hooks.example.gov.cn/hutong", false, []string{"hooks.example.gov.cn"}, true},
		{"http://127.0.0.1:9000/x", true, nil, true},
		{"https://127.0.0.1/x", false, nil, false},
		{"https://10.1.2.3/x", false, nil, false},
		{"https://[::1]/x", false, nil, false},
		{"https://169.254.169.254/latest/meta-data", false, nil, false},
		{"https://100.64.1.1/x", false, nil, false},
		{"https://[fd00::1]/x", false, nil, false},
		{"https://user:pw@hooks.example.gov.cn/", false, nil, false},
		{"ftp://hooks.example.gov.cn/", true, nil, false},
		{"/relative", true, nil, false},
		{"https://", false, nil, false},
	} {
		_, err := hutong.CheckWebhookURL(tt.url, tt.insecure, tt.allowed)
		if (err == nil) != tt.ok {
			t.Errorf("hutong.CheckWebhookURL(%q, %v, %v) = %v, want ok %v", tt.url, tt.insecure, tt.allowed, err, tt.ok)
		}
		if err != nil && hutong.ErrorCode(err) != hutong.EINVALID {
			t.Errorf("hutong.CheckWebhookURL(%q): code %q, want invalid", tt.url, hutong.ErrorCode(err))
		}
	}
}

func TestSignWebhook(t *testing.T) {
	body := []byte(`{"id":"alr_1"}`)
	m := hmac.New(sha256.New, []byte("k"))
	m.Write([]byte("1700000000." + string(body)))
	if got, want := hutong.SignWebhook([]byte("k"), 1700000000, body), "sha256="+hex.EncodeToString(m.Sum(nil)); got != want {
		t.Errorf("SignWebhook = %s, want %s", got, want)
	}
}

func TestWebhookSees(t *testing.T) {
	al := &hutong.Alert{Consumer: "BJ", Provider: "TJ"}
	p := hutong.AlertParties{ConsumerRegion: "110000", ProviderRegion: "120000"}
	for _, tt := range []struct {
		w    hutong.Webhook
		sees bool
	}{
		{hutong.Webhook{Department: "TJ"}, true},
		{hutong.Webhook{Department: "BJ"}, true},
		{hutong.Webhook{Department: "HB"}, false},
		{hutong.Webhook{Region: "120000"}, true},
		{hutong.Webhook{Region: "130000"}, false},
		{hutong.Webhook{}, true},
	} {
		if got := hutong.WebhookSees(&tt.w, al, p); got != tt.sees {
			t.Errorf("hutong.WebhookSees(%+v) = %v, want %v", tt.w, got, tt.sees)
		}
	}
}
