package pki

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCAIssuesRegionCertificates(t *testing.T) {
	dir := t.TempDir()
	ca, err := LoadOrCreateCA(dir, "hutong.test/hub")
	if err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(filepath.Join(dir, "ca.key")); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("ca.key: %v, %v", info, err)
	}
	// The same CA comes back from its directory.
	again, err := LoadOrCreateCA(dir, "hutong.test/hub")
	if err != nil || Fingerprint(again.Cert) != Fingerprint(ca.Cert) {
		t.Fatalf("reloaded CA differs: %v", err)
	}

	_, csr, err := NewNodeKey("120000")
	if err != nil {
		t.Fatal(err)
	}
	pemCert, cert, err := ca.SignNode(csr, "120000", "https://10.1.2.3:9443", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if Region(cert) != "120000" || !strings.Contains(string(pemCert), "BEGIN CERTIFICATE") {
		t.Fatalf("region %q", Region(cert))
	}
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
			t.Errorf("usage %v: %v", usage, err)
		}
	}
	if err := cert.VerifyHostname("10.1.2.3"); err != nil {
		t.Errorf("the node's address is not in its certificate: %v", err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: ca.Pool(), CurrentTime: time.Now().Add(2 * time.Hour)}); err == nil {
		t.Error("a certificate is valid past its lifetime")
	}
	// Another CA's pool does not trust it.
	other, _ := LoadOrCreateCA(t.TempDir(), "elsewhere")
	if _, err := cert.Verify(x509.VerifyOptions{Roots: other.Pool()}); err == nil {
		t.Error("another CA trusts the node's certificate")
	}

	for _, tc := range []struct{ csr, url, want string }{
		{"garbage", "https://n:1", "not a PEM"},
		{string(csr), "http://n:1", "https"},
		{string(csr), "https://", "https"},
	} {
		if _, _, err := ca.SignNode([]byte(tc.csr), "120000", tc.url, time.Hour); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("SignNode(%.10q, %q) = %v, want %q", tc.csr, tc.url, err, tc.want)
		}
	}
	// A CSR whose signature does not match its key is refused.
	tampered := strings.Replace(string(csr), "A", "B", 1)
	if _, _, err := ca.SignNode([]byte(tampered), "120000", "https://n:1", time.Hour); err == nil {
		t.Error("a tampered CSR was signed")
	}
}

func TestHubCertificateAndQueryKey(t *testing.T) {
	dir := t.TempDir()
	ca, _ := LoadOrCreateCA(dir, "hutong.test/hub")
	c, err := ca.HubCertificate([]string{"127.0.0.1", "hub.example"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Leaf.Subject.CommonName != HubName || c.Leaf.VerifyHostname("hub.example") != nil {
		t.Fatalf("hub certificate %v", c.Leaf.Subject)
	}
	// Kept: a restart presents the same certificate for the same hosts.
	ca2, _ := LoadOrCreateCA(dir, "hutong.test/hub")
	c2, _ := ca2.HubCertificate([]string{"127.0.0.1", "hub.example"})
	if Serial(c2.Leaf) != Serial(c.Leaf) {
		t.Error("the hub certificate changed across a restart")
	}
	ca3, _ := LoadOrCreateCA(dir, "hutong.test/hub")
	c3, _ := ca3.HubCertificate([]string{"other.example"})
	if c3.Leaf.VerifyHostname("other.example") != nil {
		t.Error("a new host did not get a new certificate")
	}
	k1, err := ca.QueryKey()
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := ca2.QueryKey()
	if !k1.Equal(k2) {
		t.Error("the query key changed across a restart")
	}
}
