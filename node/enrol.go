package node

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/httperr"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/pki"
)

// State is what a node keeps of its enrolment, in DIR/enrolment.json; its
// key and certificate are DIR/node.key and DIR/node.crt, the hub's CA
// DIR/ca.crt.
type State struct {
	Region string `json:"region"`
	// Hub is the hub's public URL (its ledger is read from there).
	Hub string `json:"hub"`
	// NodeAPI is the hub's mutual-TLS URL for nodes.
	NodeAPI  string `json:"node_api"`
	QueryKey string `json:"query_key"`
	// URL is where the hub was told to reach the node.
	URL string `json:"url"`
	// Origin and LogKey identify the hub's ledger, which the node's
	// witness cosigns.
	Origin     string    `json:"origin"`
	LogKey     string    `json:"log_key"`
	EnrolledAt time.Time `json:"enrolled_at"`
}

// Files of a node's directory.
const (
	stateFile = "enrolment.json"
	keyFile   = "node.key"
	certFile  = "node.crt"
	caFile    = "ca.crt"
)

// Enrolled reports whether dir holds a node's enrolment, and the URL the
// hub was told to reach it at.
func Enrolled(dir string) (bool, string) {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return false, ""
	}
	var st State
	json.Unmarshal(b, &st)
	return true, st.URL
}

// TokenRegion returns the region an enrolment token is for.
func TokenRegion(token string) (string, error) {
	parts := strings.Split(strings.TrimSpace(token), ".")
	if len(parts) != 3 || len(parts[0]) != 6 || parts[1] == "" || len(parts[2]) != 32 {
		return "", errors.New("the enrolment token is malformed: it is REGION.SECRET.CAHASH, as `hutong nodes token` prints it")
	}
	return parts[0], nil
}

// Enrol enrols a node with the hub at hubURL using a one-time token: it
// makes the node's key pair (the private key never leaves dir), opens the
// region's ledger witness, sends the hub its certificate request, checks
// that the CA which answers is the one the token names, and keeps the
// certificate. nodeURL is where the hub will reach the node.
func Enrol(ctx context.Context, dir, hubURL, token, nodeURL string, logger *slog.Logger) (*State, error) {
	if logger == nil {
		logger = slog.Default()
	}
	region, err := TokenRegion(token)
	if err != nil {
		return nil, err
	}
	pin := token[strings.LastIndexByte(token, '.')+1:]
	hubURL = strings.TrimRight(hubURL, "/")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	hc := &http.Client{Timeout: 30 * time.Second}

	// The ledger's identity, for the witness.
	var keys hutong.LedgerKeys
	if err := getJSON(ctx, hc, hubURL+"/ledger/keys", &keys); err != nil {
		return nil, fmt.Errorf("reading the hub's ledger keys: %w", err)
	}
	w, err := ledger.OpenWitness(ctx, filepath.Join(dir, "witness"), region, keys.Origin, keys.LogKey, logger, nil)
	if err != nil {
		return nil, err
	}
	witnessKey := w.Key
	w.Close()

	key, csr, err := pki.NewNodeKey(region)
	if err != nil {
		return nil, err
	}
	body, _ := json.Marshal(hutong.EnrolmentRequest{Token: token, CSR: string(csr), URL: nodeURL, WitnessKey: witnessKey})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hubURL+"/api/v1/nodes/enroll", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("enrolling with %s: %w", hubURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("the hub refused the enrolment: %w", httperr.Read(resp))
	}
	var e hutong.Enrolment
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&e); err != nil {
		return nil, fmt.Errorf("reading the enrolment: %w", err)
	}

	// Trust nothing the hub said until its CA is the one the token names.
	ca, err := pki.ParseCertificate([]byte(e.CA))
	if err != nil {
		return nil, fmt.Errorf("the hub's CA: %w", err)
	}
	if pki.Fingerprint(ca)[:32] != pin {
		return nil, errors.New("the hub answered with a CA that is not the one the token names: refusing to enrol (is the hub URL right?)")
	}
	cert, err := pki.ParseCertificate([]byte(e.Certificate))
	if err != nil {
		return nil, fmt.Errorf("the node's certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		return nil, fmt.Errorf("the node's certificate does not chain to the hub's CA: %w", err)
	}
	if pki.Region(cert) != region || e.Region != region {
		return nil, fmt.Errorf("the certificate is for region %q, the token for %s", pki.Region(cert), region)
	}
	if _, err := base64.StdEncoding.DecodeString(e.QueryKey); err != nil || e.QueryKey == "" {
		return nil, errors.New("the enrolment carries no valid query key")
	}
	st := &State{Region: region, Hub: hubURL, NodeAPI: strings.TrimRight(e.NodeAPI, "/"), QueryKey: e.QueryKey, URL: nodeURL,
		Origin: keys.Origin, LogKey: keys.LogKey, EnrolledAt: time.Now().UTC()}
	if err := pki.WriteKey(filepath.Join(dir, keyFile), key); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, certFile), []byte(e.Certificate), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, caFile), []byte(e.CA), 0o644); err != nil {
		return nil, err
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, stateFile), append(b, '\n'), 0o600); err != nil {
		return nil, err
	}
	logger.Info("node enrolled", "region", region, "hub", hubURL, "node_api", st.NodeAPI, "certificate", pki.Serial(cert))
	return st, nil
}

// loadState reads a node's enrolment, key and certificates.
func loadState(dir string) (*State, tls.Certificate, *x509.CertPool, ed25519.PublicKey, error) {
	var st State
	var cert tls.Certificate
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return nil, cert, nil, nil, fmt.Errorf("the node is not enrolled in %s: run `hutong node` with --hub and --token first", dir)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, cert, nil, nil, fmt.Errorf("%s: %w", stateFile, err)
	}
	cert, err = tls.LoadX509KeyPair(filepath.Join(dir, certFile), filepath.Join(dir, keyFile))
	if err != nil {
		return nil, cert, nil, nil, fmt.Errorf("the node's certificate: %w", err)
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, caFile))
	if err != nil {
		return nil, cert, nil, nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, cert, nil, nil, fmt.Errorf("%s holds no certificate", caFile)
	}
	qk, err := base64.StdEncoding.DecodeString(st.QueryKey)
	if err != nil || len(qk) != ed25519.PublicKeySize {
		return nil, cert, nil, nil, errors.New("the enrolment's query key is not an Ed25519 public key")
	}
	return &st, cert, pool, ed25519.PublicKey(qk), nil
}

func getJSON(ctx context.Context, hc *http.Client, url string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return httperr.Read(resp)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(out)
}
