package http

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/pki"
)

// The public API's node routes: enrolment tokens, enrolment, the register.

type tokenInput struct {
	Region string `json:"region"`
	// TTL is the token's lifetime, e.g. "1h" (the default).
	TTL string `json:"ttl"`
}

func (s *Server) nodes() (hutong.NodeService, error) {
	if s.Nodes == nil {
		return nil, hutong.Errorf(hutong.EUNAVAILABLE, "this hub does not enrol region nodes")
	}
	return s.Nodes, nil
}

func (s *Server) handleCreateNodeToken(w http.ResponseWriter, r *http.Request) error {
	ns, err := s.nodes()
	if err != nil {
		return err
	}
	var in tokenInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	var ttl time.Duration
	if in.TTL != "" {
		if ttl, err = time.ParseDuration(in.TTL); err != nil {
			return hutong.Errorf(hutong.EINVALID, "ttl %q is not a duration such as 30m or 24h", in.TTL)
		}
	}
	t, err := ns.CreateEnrolmentToken(r.Context(), in.Region, ttl)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, t)
}

func (s *Server) handleEnroll(w http.ResponseWriter, r *http.Request) error {
	ns, err := s.nodes()
	if err != nil {
		return err
	}
	var in hutong.EnrolmentRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	e, err := ns.Enroll(r.Context(), &in)
	if err != nil {
		if hutong.ErrorCode(err) == hutong.EUNAUTHORIZED && s.Refusals != nil {
			// Whoever holds no valid token proved no identity: tallied
			// per address and minute, not recorded one by one.
			s.Refusals.Refuse(r.RemoteAddr, &hutong.AuditEvent{Kind: hutong.AuditNodeRefuse, Decision: "deny",
				Reason: "enrolment refused: " + hutong.ErrorMessage(err)})
		}
		return err
	}
	return writeJSON(w, http.StatusCreated, e)
}

func (s *Server) handleNodes(w http.ResponseWriter, r *http.Request) error {
	ns, err := s.nodes()
	if err != nil {
		return err
	}
	list, err := ns.Nodes(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newList(list))
}

func (s *Server) handleRevokeNode(w http.ResponseWriter, r *http.Request) error {
	ns, err := s.nodes()
	if err != nil {
		return err
	}
	region := r.PathValue("region")
	if err := ns.RevokeNode(r.Context(), region); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"region": region, "revoked": true})
}

// NodeAPI is the hub's API for region nodes, served on its own listener
// over mutual TLS: a node proves its region with the certificate the hub's
// CA issued it at enrolment. Every refusal is audited.
type NodeAPI struct {
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
	// Refusals tallies the refusals of callers without a valid
	// certificate (see hutong.RefusalTally); nil records none.
	Refusals *hutong.RefusalTally

	ln  net.Listener
	srv *http.Server
}

// Handler returns the node API's handler; the TLS connection state must
// carry the node's certificate.
func (a *NodeAPI) Handler() http.Handler {
	if a.Logger == nil {
		a.Logger = slog.Default()
	}
	mux := http.NewServeMux()
	mux.Handle("GET /node/v1/config", a.node(func(w http.ResponseWriter, r *http.Request, region string) error {
		return writeJSON(w, http.StatusOK, a.Config(region))
	}))
	mux.Handle("GET /node/v1/agreements", a.node(func(w http.ResponseWriter, r *http.Request, region string) error {
		ags, err := a.Agreements(r.Context(), region)
		if err != nil {
			return err
		}
		out := make([]hutong.NodeAgreement, len(ags))
		for i, ag := range ags {
			out[i] = hutong.NodeAgreement{Agreement: *ag, MaskKey: a.MaskKey(ag.ID)}
		}
		return writeJSON(w, http.StatusOK, out)
	}))
	mux.Handle("PUT /node/v1/resources/{code}", a.node(a.publish))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeNodeError(w, hutong.Errorf(hutong.ENOTFOUND, "no such node endpoint: %s %s", r.Method, r.URL.Path))
	})
	return mux
}

// node authenticates the caller as a region's node: a certificate issued
// by the hub's CA, for client use, unexpired, not revoked, naming a
// region. The handler runs as that node.
func (a *NodeAPI) node(h func(http.ResponseWriter, *http.Request, string) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 4<<20)
		region, err := a.authenticate(r)
		if err != nil {
			a.refuseStranger(r, region, err)
			writeNodeError(w, err)
			return
		}
		ctx := hutong.NewContextWithActor(r.Context(), &hutong.Actor{Node: region})
		if err := h(w, r.WithContext(ctx), region); err != nil {
			if code := hutong.ErrorCode(err); code == hutong.EFORBIDDEN {
				a.refuse(r, region, err)
			} else if code == hutong.EINTERNAL {
				a.Logger.Error("node API: internal error", "path", r.URL.Path, "region", region, "err", err)
			}
			writeNodeError(w, err)
		}
	})
}

func (a *NodeAPI) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *NodeAPI) authenticate(r *http.Request) (string, error) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return "", hutong.Errorf(hutong.EUNAUTHORIZED, "the node API needs the node's client certificate (mutual TLS)")
	}
	leaf := r.TLS.PeerCertificates[0]
	region := pki.Region(leaf)
	inter := x509.NewCertPool()
	for _, c := range r.TLS.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: a.CA, Intermediates: inter, CurrentTime: a.now(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return region, hutong.Errorf(hutong.EUNAUTHORIZED, "the node's certificate is not valid: %v", err)
	}
	if region == "" {
		return "", hutong.Errorf(hutong.EUNAUTHORIZED, "the certificate names no region")
	}
	if a.Nodes.Revoked(r.Context(), pki.Serial(leaf)) {
		return region, hutong.Errorf(hutong.EUNAUTHORIZED, "the certificate %s of region %s is revoked or was replaced; enrol the node again", pki.Serial(leaf), region)
	}
	return region, nil
}

// refuse records the refusal of a node that proved its region.
func (a *NodeAPI) refuse(r *http.Request, region string, err error) {
	ev := a.refusal(r, err)
	ev.Actor = "node:" + region
	if a.Auditor != nil {
		if _, aerr := a.Auditor.Record(context.WithoutCancel(r.Context()), ev); aerr != nil {
			a.Logger.Error("node API: a refusal was not audited", "err", aerr)
		}
	}
	a.Logger.Warn("node API: refused", "actor", ev.Actor, "path", hutong.ClipText(r.URL.Path, 256), "reason", ev.Reason)
}

// refuseStranger counts the refusal of a caller whose certificate did not
// prove a region (claimed names the region it claims, if any): such
// refusals are tallied per source address and minute, so that strangers
// cannot grow the ledger.
func (a *NodeAPI) refuseStranger(r *http.Request, claimed string, err error) {
	ev := a.refusal(r, err)
	if claimed != "" {
		ev.Reason += " (the certificate claims region " + hutong.ClipText(claimed, 64) + ")"
	}
	if a.Refusals != nil {
		a.Refusals.Refuse(r.RemoteAddr, ev)
	}
	a.Logger.Debug("node API: refused a caller without a valid certificate", "addr", r.RemoteAddr, "reason", ev.Reason)
}

func (a *NodeAPI) refusal(r *http.Request, err error) *hutong.AuditEvent {
	return &hutong.AuditEvent{Time: a.now(), Kind: hutong.AuditNodeRefuse, Decision: "deny",
		Reason: fmt.Sprintf("%s %s: %s", hutong.ClipText(r.Method, 16), hutong.ClipText(r.URL.Path, 512), hutong.ErrorMessage(err))}
}

// publish creates or updates a node-hosted resource of the node's region.
func (a *NodeAPI) publish(w http.ResponseWriter, r *http.Request, region string) error {
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
	if !hutong.RegionContains(region, res.Region) {
		return hutong.Errorf(hutong.EFORBIDDEN, "the node of region %s may not publish a resource of region %s", region, res.Region)
	}
	old, err := a.Catalog.Resource(r.Context(), code)
	switch {
	case hutong.ErrorCode(err) == hutong.ENOTFOUND:
		if err := a.Catalog.PublishResource(r.Context(), &res); err != nil {
			return err
		}
		return writeJSON(w, http.StatusCreated, &res)
	case err != nil:
		return err
	case old.Hosted != hutong.HostedNode || !hutong.RegionContains(region, old.Region):
		return hutong.Errorf(hutong.EFORBIDDEN, "resource %s exists and is not a node-hosted resource of region %s", code, region)
	}
	if err := a.Catalog.UpdateResource(r.Context(), &res); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, &res)
}

// Listen binds Addr, so the node API's URL is known before it serves.
func (a *NodeAPI) Listen() error {
	ln, err := net.Listen("tcp", a.Addr)
	if err != nil {
		return fmt.Errorf("node API: listen: %w", err)
	}
	a.ln = ln
	return nil
}

// Serve serves the node API over TLS on the listener Listen bound, in the
// background, asking for the node's certificate (the handlers check it).
func (a *NodeAPI) Serve() error {
	if a.ln == nil {
		return errors.New("http: node API Serve before Listen")
	}
	if a.Cert == nil || a.CA == nil || a.Nodes == nil || a.Catalog == nil || a.Agreements == nil || a.Config == nil || a.MaskKey == nil {
		a.ln.Close()
		return errors.New("http: the node API needs Cert, CA, Nodes, Catalog, Agreements, Config and MaskKey")
	}
	if a.Logger == nil {
		a.Logger = slog.Default()
	}
	a.srv = &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       DefaultReadTimeout, // its bodies are small; cleared once read
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

// Port returns the port the node API listens on.
func (a *NodeAPI) Port() string {
	if a.ln == nil {
		return ""
	}
	_, port, _ := net.SplitHostPort(a.ln.Addr().String())
	return port
}

// Close stops the node API.
func (a *NodeAPI) Close(ctx context.Context) error {
	if a.srv == nil {
		return nil
	}
	return a.srv.Shutdown(ctx)
}

func writeNodeError(w http.ResponseWriter, err error) {
	code := hutong.ErrorCode(err)
	status, ok := statusCodes[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	writeJSON(w, status, errorBody{Error: errorDetail{Code: code, Message: hutong.ErrorMessage(err)}})
}
