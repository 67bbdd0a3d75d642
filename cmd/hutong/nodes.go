package main

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/node"
	"github.com/hutong/hutong/pki"
	"github.com/hutong/hutong/sqlstore"
	"github.com/hutong/hutong/standard"
)

// regionNodes is the hub's side of the region nodes: the CA that certifies
// them, their register, the mutual-TLS API they call and the client that
// forwards queries to them.
type regionNodes struct {
	CA       *pki.CA
	Register *sqlstore.NodeRegister
	API      *node.HubAPI
	Remote   *node.Remote
	// URL is where nodes reach the node API.
	URL string
	// witnessTransport reaches the nodes' ledger witnesses over mutual TLS.
	witnessTransport http.RoundTripper

	mu sync.Mutex // serialises witness changes
}

// nodeAddr returns where the node API listens: the configured address,
// or an ephemeral loopback port when the hub's own port is ephemeral (as
// in tests).
func (c Config) nodeAddr() string {
	if c.NodeAddr != "" {
		return c.NodeAddr
	}
	if _, port, err := net.SplitHostPort(c.Addr); err == nil && port == "0" {
		return "127.0.0.1:0"
	}
	return ":8443"
}

// openNodes opens the CA (DATA/ca), binds the node API and opens the node
// register. The node API serves once the exchange exists (serveNodes).
func (m *Main) openNodes(ctx context.Context) error {
	ca, err := pki.LoadOrCreateCA(filepath.Join(m.Config.Data, "ca"), m.Config.Origin)
	if err != nil {
		return fmt.Errorf("node CA: %w", err)
	}
	m.Nodes = &regionNodes{CA: ca}
	m.Nodes.API = &node.HubAPI{Addr: m.Config.nodeAddr(), CA: ca.Pool(), Logger: m.Logger}
	if err := m.Nodes.API.Listen(); err != nil {
		return fmt.Errorf("%w (set node_addr or --node-addr)", err)
	}
	apiURL := m.Config.NodeURL
	if apiURL == "" {
		apiURL = "https://127.0.0.1:" + m.Nodes.API.Port()
	}
	u, err := url.Parse(apiURL)
	if err != nil || u.Scheme != "https" || u.Hostname() == "" {
		return fmt.Errorf("config: node_url %q must be https://host:port", apiURL)
	}
	cert, err := ca.HubCertificate(slices.Compact([]string{u.Hostname(), "127.0.0.1", "localhost"}))
	if err != nil {
		return fmt.Errorf("hub certificate: %w", err)
	}
	m.Nodes.API.Cert, m.Nodes.URL = cert, strings.TrimRight(apiURL, "/")
	qk, err := ca.QueryKey()
	if err != nil {
		return err
	}
	m.Nodes.Register, err = sqlstore.NewNodeRegister(ctx, m.DB, sqlstore.NodeOptions{
		CA:       ca,
		NodeAPI:  strings.TrimRight(apiURL, "/"),
		QueryKey: base64.StdEncoding.EncodeToString(qk.Public().(ed25519.PublicKey)),
		Ledger: func() hutong.LedgerKeys {
			if m.Ledger == nil {
				return hutong.LedgerKeys{}
			}
			return m.Ledger.Keys()
		},
		OnChange: m.nodesChanged,
	})
	if err != nil {
		return err
	}
	timeout := node.DefaultTimeout
	if m.Config.NodeTimeout != "" {
		timeout, _ = time.ParseDuration(m.Config.NodeTimeout)
	}
	m.Nodes.Remote = &node.Remote{Nodes: m.Nodes.Register, CA: ca.Pool(), Cert: cert, Key: qk, Timeout: timeout}
	m.Nodes.witnessTransport = &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS13},
		TLSHandshakeTimeout: 5 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	return nil
}

// serveNodes gives the node API the services it answers from and starts
// serving it.
func (m *Main) serveNodes(catalog hutong.CatalogService, maskingKey []byte) error {
	api := m.Nodes.API
	api.Nodes, api.Catalog, api.Auditor, api.Refusals = m.Nodes.Register, catalog, m.Ledger, m.Refusals
	api.Entries = sqlstore.NewLedgerEntries(m.DB)
	api.Agreements = m.Requests.NodeAgreements
	api.Config = func(region string) hutong.NodeConfig {
		return hutong.NodeConfig{Region: region, Ledger: m.Ledger.Keys()}
	}
	api.MaskKey = func(agreement string) []byte { return standard.AgreementKey(maskingKey, agreement) }
	return api.Serve()
}

// witnessEndpoints returns the ledger's witnesses: for each witness
// region, its node's witness when the node has enrolled one, or the hub's
// in-process stand-in.
func (m *Main) witnessEndpoints(inProcess map[string]*ledger.Witness) []ledger.WitnessEndpoint {
	eps := slices.Clone(m.Config.Witnesses)
	active := map[string]hutong.RegisteredNode{}
	if m.Nodes != nil {
		for _, n := range m.Nodes.Register.Active() {
			if n.WitnessKey != "" {
				active[n.Region] = n
			}
		}
	}
	for _, region := range m.Config.witnessRegions() {
		if n, ok := active[region]; ok {
			eps = append(eps, ledger.WitnessEndpoint{Name: region, Key: n.WitnessKey, URL: n.URL + "/witness"})
			continue
		}
		if w := inProcess[region]; w != nil {
			eps = append(eps, ledger.WitnessEndpoint{Name: region, Key: w.Key, URL: ledger.InProcessURL(region)})
		}
	}
	return eps
}

// nodesChanged moves witnesses between the hub and the nodes after a node
// enrols or is revoked. It runs in the background: restarting the log's
// checkpointing takes a moment and the enrolment need not wait for it.
func (m *Main) nodesChanged() {
	if m.Ledger == nil {
		return
	}
	go func() {
		m.Nodes.mu.Lock()
		defer m.Nodes.mu.Unlock()
		eps := m.witnessEndpoints(m.witnessByRegion())
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := m.Ledger.SetWitnesses(ctx, eps, m.Config.quorumOf(len(eps))); err != nil {
			m.Logger.Error("moving ledger witnesses to the nodes", "err", err)
		}
	}()
}

func (m *Main) witnessByRegion() map[string]*ledger.Witness {
	out := map[string]*ledger.Witness{}
	for _, w := range m.Witnesses {
		out[w.Name] = w
	}
	return out
}

// hostedSource returns where a resource's rows live: the hub's tables, or
// the node of its region.
func (m *Main) hostedSource(rows hutong.Source) func(*hutong.Resource) (hutong.Source, error) {
	return func(r *hutong.Resource) (hutong.Source, error) {
		if r.Hosted == hutong.HostedHub {
			return rows, nil
		}
		return m.Nodes.Remote, nil
	}
}
