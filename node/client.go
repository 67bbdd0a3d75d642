package node

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/httperr"
	"github.com/hutong/hutong/pki"
)

// DefaultTimeout is how long the hub waits for a node: to connect and
// answer, and between any two reads of its rows.
const DefaultTimeout = 5 * time.Second

// Register is the part of the hub's node register the client needs.
type Register interface {
	NodeOf(ctx context.Context, region string) (*hutong.RegisteredNode, error)
}

// Remote is the hub's side of the node protocol: a hutong.Source for
// node-hosted resources. It signs each planned query with the hub's query
// key, sends it to the resource's region node over mutual TLS and reads
// the rows the node streams back, masked by the node.
type Remote struct {
	Nodes Register
	CA    *x509.CertPool   // the hub's CA: node certificates must chain to it
	Cert  *tls.Certificate // the hub's client certificate
	Key   ed25519.PrivateKey
	// Timeout bounds connecting, the node's answer and every stall in
	// its rows; DefaultTimeout when 0.
	Timeout time.Duration
	Now     func() time.Time

	mu      sync.Mutex
	clients map[string]*http.Client // by certificate serial
}

var _ hutong.MaskingSource = (*Remote)(nil)

// MasksRows reports that nodes mask rows before they leave the region.
func (c *Remote) MasksRows() bool { return true }

func (c *Remote) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

// httpClient returns the client that talks to node n: it trusts only the
// hub's CA and only a certificate for n's region with n's serial.
func (c *Remote) httpClient(n *hutong.RegisteredNode) *http.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	if hc, ok := c.clients[n.Serial]; ok {
		return hc
	}
	if c.clients == nil {
		c.clients = map[string]*http.Client{}
	}
	region, serial := n.Region, n.Serial
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: c.timeout(), KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   c.timeout(),
		ResponseHeaderTimeout: c.timeout(),
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     false,
		TLSClientConfig: &tls.Config{
			RootCAs:      c.CA,
			Certificates: []tls.Certificate{*c.Cert},
			MinVersion:   tls.VersionTLS13,
			VerifyConnection: func(cs tls.ConnectionState) error {
				leaf := cs.PeerCertificates[0]
				if got := pki.Region(leaf); got != region {
					return fmt.Errorf("the node presented a certificate of region %q, not %s", got, region)
				}
				if got := pki.Serial(leaf); got != serial {
					return fmt.Errorf("the node presented certificate %s, not its enrolled certificate %s", got, serial)
				}
				return nil
			},
		},
	}
	hc := &http.Client{Transport: tr}
	c.clients[n.Serial] = hc
	return hc
}

// CloseIdleConnections closes the connections to nodes not in use.
func (c *Remote) CloseIdleConnections() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, hc := range c.clients {
		hc.CloseIdleConnections()
	}
}

// Read sends q to the node of r's region and yields the rows it returns.
func (c *Remote) Read(ctx context.Context, r *hutong.Resource, q hutong.SourceQuery, yield func(hutong.SourceRow) error) error {
	nq := c.nodeQuery(r, q, false)
	return c.call(ctx, r, nq, "/v1/query", func(n *hutong.RegisteredNode, body io.Reader) error {
		_, err := ReadRows(body, len(q.Fields), yield)
		if errors.Is(err, errTruncated) {
			return unavailable(n.Region, "its answer broke off part way")
		}
		return err
	})
}

// Count asks the node of r's region how many rows match q.
func (c *Remote) Count(ctx context.Context, r *hutong.Resource, q hutong.SourceQuery) (int64, error) {
	var out struct {
		Count int64 `json:"count"`
	}
	nq := c.nodeQuery(r, q, true)
	err := c.call(ctx, r, nq, "/v1/count", func(n *hutong.RegisteredNode, body io.Reader) error {
		if err := json.NewDecoder(body).Decode(&out); err != nil {
			return unavailable(n.Region, "its count could not be read: "+err.Error())
		}
		return nil
	})
	return out.Count, err
}

func (c *Remote) nodeQuery(r *hutong.Resource, q hutong.SourceQuery, count bool) *hutong.NodeQuery {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	ag := ""
	if q.Agreement != nil {
		ag = q.Agreement.ID
	}
	return &hutong.NodeQuery{ID: q.ID, IssuedAt: now().UTC(), Resource: r.Code, Agreement: ag,
		Department: q.Department, Purpose: q.Purpose, Fields: q.Fields, Masks: q.Masks, Where: q.Where,
		After: q.After, Limit: q.Limit, Count: count}
}

// call posts a signed query to the node and hands read its answer. A
// node that does not connect, answer or keep sending within the timeout
// makes the call EUNAVAILABLE, naming the region.
func (c *Remote) call(ctx context.Context, r *hutong.Resource, nq *hutong.NodeQuery, path string, read func(*hutong.RegisteredNode, io.Reader) error) error {
	n, err := c.Nodes.NodeOf(ctx, r.Region)
	if err != nil {
		return hutong.Errorf(hutong.EUNAVAILABLE, "resource %s is held at the node of region %s, and no node of that region is enrolled", r.Code, r.Region)
	}
	nq.Region = n.Region // the node's region, which may contain the resource's
	body, sig, err := SignQuery(c.Key, nq)
	if err != nil {
		return err
	}
	// The watchdog cancels the call when the node stalls: it runs while
	// the hub waits for the node, not while the caller consumes rows.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stalled := errors.New("stalled")
	dog := time.AfterFunc(c.timeout(), func() { cancel(stalled) })
	defer dog.Stop()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.URL+path, bytes.NewReader(body))
	if err != nil {
		return unavailable(n.Region, "its URL is not usable: "+err.Error())
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, sig)
	resp, err := c.httpClient(n).Do(req)
	dog.Stop()
	if err != nil {
		return c.failure(ctx, n, stalled, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nodeError(n, resp)
	}
	err = read(n, &watchedReader{r: resp.Body, dog: dog, d: c.timeout()})
	if err != nil && ctx.Err() != nil {
		return c.failure(ctx, n, stalled, err)
	}
	return err
}

// failure names why a call to node n failed.
func (c *Remote) failure(ctx context.Context, n *hutong.RegisteredNode, stalled, err error) error {
	switch cause := context.Cause(ctx); {
	case cause == stalled:
		return unavailable(n.Region, fmt.Sprintf("it did not answer within %s", c.timeout()))
	case cause != nil:
		return cause // the caller went away
	}
	var uerr interface{ Timeout() bool }
	if errors.As(err, &uerr) && uerr.Timeout() {
		return unavailable(n.Region, fmt.Sprintf("it did not answer within %s", c.timeout()))
	}
	return unavailable(n.Region, "it cannot be reached: "+err.Error())
}

func unavailable(region, why string) error {
	return &hutong.Error{Code: hutong.EUNAVAILABLE, RetryAfter: 5,
		Message: fmt.Sprintf("the node of region %s is unavailable: %s", region, why)}
}

// nodeError turns a node's error answer into the error the hub reports.
func nodeError(n *hutong.RegisteredNode, resp *http.Response) error {
	err := httperr.Read(resp)
	var e *hutong.Error
	if !errors.As(err, &e) {
		return unavailable(n.Region, "it answered "+err.Error())
	}
	switch e.Code {
	case hutong.EFORBIDDEN, hutong.EUNAUTHORIZED:
		return hutong.Errorf(hutong.EFORBIDDEN, "the node of region %s refused the query: %s", n.Region, e.Message)
	case hutong.EINVALID, hutong.ENOTFOUND:
		return hutong.Errorf(e.Code, "the node of region %s: %s", n.Region, e.Message)
	}
	return unavailable(n.Region, e.Message)
}

// watchedReader restarts the watchdog around every read from the node.
type watchedReader struct {
	r   io.Reader
	dog *time.Timer
	d   time.Duration
}

func (w *watchedReader) Read(p []byte) (int, error) {
	w.dog.Reset(w.d)
	n, err := w.r.Read(p)
	w.dog.Stop()
	return n, err
}
