package node

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/httperr"
	"github.com/hutong/hutong/pki"
)

// HubAPI is the hub's API for region nodes, served on its own listener
// over mutual TLS: a node proves its region with the certificate the hub's
// CA issued it at enrolment. Every refusal is audited.
type HubAPI struct {
	Addr   string
	Cert   *tls.Certificate // the hub's server certificate
	CA     *x509.CertPool
	Nodes  hutong.NodeService
	Logger *slog.Logger
	Now    func() time.Time

	Catalog hutong.CatalogService
	// Agreements returns the active agreements over a region's
	// node-hosted resources.
	Agreements func(ctx context.Context, region string) ([]*hutong.Agreement, error)
	// Config returns what a node of region is told about itself.
	Config func(region string) hutong.NodeConfig
	// MaskKey returns the key of an agreement's hash masking, which the
	// node of its resource needs to mask as the hub does.
	MaskKey func(agreement string) []byte
	Auditor hutong.Auditor
	// Entries serves a node its region's full ledger entries, which its
	// audit opens against the public log's commitments.
	Entries hutong.LedgerEntries
	// Refusals tallies the refusals of callers without a valid
	// certificate (see hutong.RefusalTally); nil records none.
	Refusals *hutong.RefusalTally

	peers pki.PeerVerifier
	ln    net.Listener
	srv   *http.Server
}

//go:embed openapi.json
var openAPI []byte

// hubRoute is a route of the hub API for nodes.
type hubRoute struct {
	pattern string // "GET /node/v1/config"
	h       http.Handler
}

// routes returns the routes of the hub API for nodes, which openapi.json
// describes: all but the document itself need a node's certificate.
func (a *HubAPI) routes() []hubRoute {
	return []hubRoute{
		{"GET /node/v1/openapi.json", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write(openAPI)
		})},
		{"GET /node/v1/config", a.node(func(w http.ResponseWriter, r *http.Request, region string) error {
			return writeJSON(w, http.StatusOK, a.Config(region))
		})},
		{"GET /node/v1/agreements", a.node(func(w http.ResponseWriter, r *http.Request, region string) error {
			ags, err := a.Agreements(r.Context(), region)
			if err != nil {
				return err
			}
			out := make([]hutong.NodeAgreement, len(ags))
			for i, ag := range ags {
				out[i] = hutong.NodeAgreement{Agreement: *ag, MaskKey: a.MaskKey(ag.ID)}
			}
			return writeJSON(w, http.StatusOK, out)
		})},
		{"PUT /node/v1/resources/{code}", a.node(a.publish)},
		{"GET /node/v1/ledger/entries", a.node(func(w http.ResponseWriter, r *http.Request, region string) error {
			if a.Entries == nil {
				return hutong.Errorf(hutong.ENOTFOUND, "this hub serves no ledger entries")
			}
			limit := 0
			if s := r.URL.Query().Get("limit"); s != "" {
				n, err := strconv.Atoi(s)
				if err != nil || n < 1 || n > hutong.MaxEntriesPage {
					return hutong.Errorf(hutong.EINVALID, "limit must be between 1 and %d", hutong.MaxEntriesPage)
				}
				limit = n
			}
			page, err := a.Entries.Entries(r.Context(), hutong.EntryFilter{Mine: true, Cursor: r.URL.Query().Get("cursor"), Limit: limit})
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, page)
		})},
	}
}

// Handler returns the handler of the hub API for nodes; the TLS connection state must
// carry the node's certificate.
func (a *HubAPI) Handler() http.Handler {
	if a.Logger == nil {
		a.Logger = slog.Default()
	}
	a.peers.Roots = a.CA
	mux := http.NewServeMux()
	for _, rt := range a.routes() {
		mux.Handle(rt.pattern, rt.h)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		httperr.Write(w, hutong.Errorf(hutong.ENOTFOUND, "no such node endpoint: %s %s", r.Method, r.URL.Path))
	})
	return mux
}

// node authenticates the caller as a region's node: a certificate issued
// by the hub's CA, for client use, unexpired, not revoked, naming a
// region. The handler runs as that node.
func (a *HubAPI) node(h func(http.ResponseWriter, *http.Request, string) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 4<<20)
		region, err := a.authenticate(r)
		if err != nil {
			a.refuseStranger(r, region, err)
			httperr.Write(w, err)
			return
		}
		ctx := hutong.NewContextWithActor(r.Context(), &hutong.Actor{Node: region})
		if err := h(w, r.WithContext(ctx), region); err != nil {
			if code := hutong.ErrorCode(err); code == hutong.EFORBIDDEN {
				a.refuse(r, region, err)
			} else if code == hutong.EINTERNAL {
				a.Logger.Error("hub API for nodes: internal error", "path", r.URL.Path, "region", region, "err", err)
			}
			httperr.Write(w, err)
		}
	})
}

func (a *HubAPI) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *HubAPI) authenticate(r *http.Request) (string, error) {
	leaf, err := a.peers.Verify(r.TLS, a.now())
	if err != nil {
		region := ""
		if leaf != nil {
			region = pki.Region(leaf)
		}
		return region, hutong.Errorf(hutong.EUNAUTHORIZED, "the hub API for nodes needs a node's certificate: %v", err)
	}
	region := pki.Region(leaf)
	if region == "" {
		return "", hutong.Errorf(hutong.EUNAUTHORIZED, "the certificate names no region")
	}
	if a.Nodes.Revoked(r.Context(), pki.Serial(leaf)) {
		return region, hutong.Errorf(hutong.EUNAUTHORIZED, "the certificate %s of region %s is revoked or was replaced; enrol the node again", pki.Serial(leaf), region)
	}
	return region, nil
}

// refuse records the refusal of a node that proved its region.
func (a *HubAPI) refuse(r *http.Request, region string, err error) {
	ev := a.refusal(r, err)
	ev.Actor = "node:" + region
	if a.Auditor != nil {
		if _, aerr := a.Auditor.Record(context.WithoutCancel(r.Context()), ev); aerr != nil {
			a.Logger.Error("hub API for nodes: a refusal was not audited", "err", aerr)
		}
	}
	a.Logger.Warn("hub API for nodes: refused", "actor", ev.Actor, "path", hutong.ClipText(r.URL.Path, 256), "reason", ev.Reason)
}

// refuseStranger counts the refusal of a caller whose certificate did not
// prove a region (claimed names the region it claims, if any): such
// refusals are tallied per source address and minute, so that strangers
// cannot grow the ledger.
func (a *HubAPI) refuseStranger(r *http.Request, claimed string, err error) {
	ev := a.refusal(r, err)
	if claimed != "" {
		ev.Reason += " (the certificate claims region " + hutong.ClipText(claimed, 64) + ")"
	}
	if a.Refusals != nil {
		a.Refusals.Refuse(r.RemoteAddr, ev)
	}
	a.Logger.Debug("hub API for nodes: refused a caller without a valid certificate", "addr", r.RemoteAddr, "reason", ev.Reason)
}

func (a *HubAPI) refusal(r *http.Request, err error) *hutong.AuditEvent {
	return &hutong.AuditEvent{Time: a.now(), Kind: hutong.AuditNodeRefuse, Decision: "deny",
		Reason: fmt.Sprintf("%s %s: %s", hutong.ClipText(r.Method, 16), hutong.ClipText(r.URL.Path, 512), hutong.ErrorMessage(err))}
}

// publish creates or updates a node-hosted resource of the node's region.
func (a *HubAPI) publish(w http.ResponseWriter, r *http.Request, region string) error {
	var res hutong.Resource
	if err := json.NewDecoder(r.Body).Decode(&res); err != nil {
		return hutong.Errorf(hutong.EINVALID, "the resource is not valid JSON: %v", err)
	}
	code := r.PathValue("code")
	if res.Code != "" && res.Code != code {
		return hutong.Errorf(hutong.EINVALID, "the body's code %q differs from the path's %q", res.Code, code)
	}
	res.Code, res.Hosted, res.Rows = code, hutong.HostedNode, 0
	if res.Region == "" {
		res.Region = region
	}
	old, err := a.Catalog.Resource(r.Context(), code)
	if err != nil && hutong.ErrorCode(err) != hutong.ENOTFOUND {
		return err
	}
	if old == nil {
		if err := hutong.NodeMayHost(region, &res, nil); err != nil {
			return err
		}
		if err := a.Catalog.PublishResource(r.Context(), &res); err != nil {
			return err
		}
		return writeJSON(w, http.StatusCreated, &res)
	}
	if err := hutong.NodeMayHost(region, &res, old); err != nil {
		return err
	}
	if err := a.Catalog.UpdateResource(r.Context(), &res); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, &res)
}

// Listen binds Addr, so the URL of the hub API for nodes is known before it serves.
func (a *HubAPI) Listen() error {
	ln, err := net.Listen("tcp", a.Addr)
	if err != nil {
		return fmt.Errorf("hub API for nodes: listen: %w", err)
	}
	a.ln = ln
	return nil
}

// Serve serves the hub API for nodes over TLS on the listener Listen bound, in the
// background, asking for the node's certificate (the handlers check it).
func (a *HubAPI) Serve() error {
	if a.ln == nil {
		return errors.New("node: HubAPI.Serve before Listen")
	}
	if a.Cert == nil || a.CA == nil || a.Nodes == nil || a.Catalog == nil || a.Agreements == nil || a.Config == nil || a.MaskKey == nil {
		a.ln.Close()
		return errors.New("node: the hub API for nodes needs Cert, CA, Nodes, Catalog, Agreements, Config and MaskKey")
	}
	if a.Logger == nil {
		a.Logger = slog.Default()
	}
	a.srv = &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second, // its bodies are small; cleared once read
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(a.Logger.Handler(), slog.LevelDebug),
		TLSConfig: &tls.Config{
			Certificates: []tls.Certificate{*a.Cert},
			ClientAuth:   tls.RequestClientCert,
			MinVersion:   tls.VersionTLS13,
		},
	}
	go a.srv.ServeTLS(a.ln, "", "")
	return nil
}

// Port returns the port the hub API for nodes listens on.
func (a *HubAPI) Port() string {
	if a.ln == nil {
		return ""
	}
	_, port, _ := net.SplitHostPort(a.ln.Addr().String())
	return port
}

// Close stops the hub API for nodes.
func (a *HubAPI) Close(ctx context.Context) error {
	if a.srv == nil {
		return nil
	}
	return a.srv.Shutdown(ctx)
}

// writeJSON writes v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
