// Package pki is the hub's small certificate authority: it issues region
// nodes their certificates (crypto/x509, ECDSA P-256), names the region a
// certificate speaks for, and holds the hub's own certificate and the key
// that signs the queries it sends nodes. Standard library only.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Certificate lifetimes.
const (
	NodeCertLifetime = 365 * 24 * time.Hour
	caLifetime       = 10 * 365 * 24 * time.Hour
)

// HubName is the common name of the hub's own certificate.
const HubName = "hutong-hub"

// RegionURI returns the SAN URI that names the region a node serves.
func RegionURI(region string) string { return "hutong://node/" + region }

// CA is the hub's certificate authority. Its key lives in its directory,
// readable by the hub's user only.
type CA struct {
	Cert *x509.Certificate
	PEM  []byte
	key  crypto.Signer

	mu      sync.Mutex
	hubCert *tls.Certificate
	dir     string
}

// LoadOrCreateCA loads the CA kept in dir (ca.crt, ca.key), creating it on
// first use for the hub named name.
func LoadOrCreateCA(dir, name string) (*CA, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	certPath, keyPath := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")
	certPEM, err1 := os.ReadFile(certPath)
	keyPEM, err2 := os.ReadFile(keyPath)
	if err1 == nil && err2 == nil {
		cert, err := ParseCertificate(certPEM)
		if err != nil {
			return nil, fmt.Errorf("pki: %s: %w", certPath, err)
		}
		key, err := parseKey(keyPEM)
		if err != nil {
			return nil, fmt.Errorf("pki: %s: %w", keyPath, err)
		}
		return &CA{Cert: cert, PEM: certPEM, key: key, dir: dir}, nil
	}
	if !errors.Is(err1, os.ErrNotExist) || !errors.Is(err2, os.ErrNotExist) {
		return nil, fmt.Errorf("pki: the CA in %s is incomplete (ca.crt: %v, ca.key: %v)", dir, err1, err2)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name + " CA", Organization: []string{"hutong"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := WriteKey(keyPath, key); err != nil {
		return nil, err
	}
	if err := os.WriteFile(certPath, certPEM, 0o644); err != nil {
		return nil, err
	}
	cert, _ := x509.ParseCertificate(der)
	return &CA{Cert: cert, PEM: certPEM, key: key, dir: dir}, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	return n
}

// WriteKey writes a private key as PKCS #8 PEM, readable by its owner only.
func WriteKey(path string, key crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

// ParseCertificate reads a PEM certificate.
func ParseCertificate(b []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

func parseKey(b []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("not a PEM key")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("not a signing key")
	}
	return s, nil
}

// Pool returns a certificate pool holding only the CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// Fingerprint returns the SHA-256 of a certificate's DER, hex.
func Fingerprint(c *x509.Certificate) string {
	s := sha256.Sum256(c.Raw)
	return hex.EncodeToString(s[:])
}

// SignNode checks a node's certificate request and issues it a certificate
// for region, usable to serve (at the hosts of nodeURL) and as a client.
// It returns the PEM certificate and the parsed one.
func (ca *CA) SignNode(csrPEM []byte, region, nodeURL string, ttl time.Duration) ([]byte, *x509.Certificate, error) {
	block, _ := pem.Decode(csrPEM)
	if block == nil || block.Type != "CERTIFICATE REQUEST" {
		return nil, nil, errors.New("the CSR is not a PEM certificate request")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("the CSR cannot be parsed: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, nil, fmt.Errorf("the CSR is not signed by its key: %w", err)
	}
	u, err := url.Parse(nodeURL)
	if err != nil || u.Scheme != "https" || u.Hostname() == "" {
		return nil, nil, fmt.Errorf("the node URL %q must be https://host:port", nodeURL)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "hutong-node-" + region, Organization: []string{"hutong"}},
		NotBefore:    now.Add(-5 * time.Minute),
		NotAfter:     now.Add(ttl),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		URIs:         []*url.URL{{Scheme: "hutong", Host: "node", Path: "/" + region}},
	}
	if ip := net.ParseIP(u.Hostname()); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{u.Hostname()}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, csr.PublicKey, ca.key)
	if err != nil {
		return nil, nil, err
	}
	cert, _ := x509.ParseCertificate(der)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), cert, nil
}

// Region returns the region a certificate issued by SignNode speaks for,
// or "".
func Region(c *x509.Certificate) string {
	for _, u := range c.URIs {
		if u.Scheme == "hutong" && u.Host == "node" {
			return strings.TrimPrefix(u.Path, "/")
		}
	}
	return ""
}

// Serial returns a certificate's serial number as hex.
func Serial(c *x509.Certificate) string { return c.SerialNumber.Text(16) }

// HubCertificate returns the hub's own certificate, issued by the CA and
// kept in its directory: the hub presents it to nodes as a client and on
// its node API as a server (at the given hosts).
func (ca *CA) HubCertificate(hosts []string) (*tls.Certificate, error) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if ca.hubCert != nil {
		return ca.hubCert, nil
	}
	certPath, keyPath := filepath.Join(ca.dir, "hub.crt"), filepath.Join(ca.dir, "hub.key")
	if c, err := tls.LoadX509KeyPair(certPath, keyPath); err == nil && c.Leaf != nil && time.Until(c.Leaf.NotAfter) > 30*24*time.Hour && coversHosts(c.Leaf, hosts) {
		ca.hubCert = &c
		return &c, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: HubName, Organization: []string{"hutong"}},
		NotBefore:    now.Add(-5 * time.Minute),
		NotAfter:     now.Add(NodeCertLifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, err
	}
	if err := WriteKey(keyPath, key); err != nil {
		return nil, err
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return nil, err
	}
	c, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return nil, err
	}
	ca.hubCert = &c
	return &c, nil
}

func coversHosts(c *x509.Certificate, hosts []string) bool {
	for _, h := range hosts {
		if h != "" && c.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

// QueryKey returns the hub's Ed25519 key that signs queries to nodes,
// kept in the CA's directory.
func (ca *CA) QueryKey() (ed25519.PrivateKey, error) {
	path := filepath.Join(ca.dir, "query.key")
	b, err := os.ReadFile(path)
	if err == nil {
		seed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("pki: %s is not an Ed25519 seed", path)
		}
		return ed25519.NewKeyFromSeed(seed), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(key.Seed())+"\n"), 0o600); err != nil {
		return nil, err
	}
	return key, nil
}

// NewNodeKey returns a node's key pair and its certificate request for
// region.
func NewNodeKey(region string) (key *ecdsa.PrivateKey, csrPEM []byte, err error) {
	key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "hutong-node-" + region, Organization: []string{"hutong"}},
	}, key)
	if err != nil {
		return nil, nil, err
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), nil
}

// PeerVerifier checks the client certificate a peer presents over mutual
// TLS: present, within its validity period now, and chained to Roots for
// client use. A chain verified once is remembered by the certificate's
// digest (the signatures do not change); the validity period is checked on
// every call. The hub's API for nodes checks nodes with it, a node checks
// the hub with it. It is safe for concurrent use.
type PeerVerifier struct {
	Roots *x509.CertPool

	verified sync.Map // SHA-256 of certificates whose chain verified
}

// Verify returns the peer's certificate, or an error that says why it is
// refused.
func (v *PeerVerifier) Verify(cs *tls.ConnectionState, now time.Time) (*x509.Certificate, error) {
	if cs == nil || len(cs.PeerCertificates) == 0 {
		return nil, errors.New("no client certificate was presented (mutual TLS)")
	}
	leaf := cs.PeerCertificates[0]
	if now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		return leaf, fmt.Errorf("the client certificate is not valid now: it is valid from %s to %s", leaf.NotBefore.Format(time.RFC3339), leaf.NotAfter.Format(time.RFC3339))
	}
	sum := sha256.Sum256(leaf.Raw)
	if _, ok := v.verified.Load(sum); ok {
		return leaf, nil
	}
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: v.Roots, Intermediates: inter, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return leaf, fmt.Errorf("the client certificate is not valid: %w", err)
	}
	v.verified.Store(sum, struct{}{})
	return leaf, nil
}
