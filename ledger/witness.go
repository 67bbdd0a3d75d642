package ledger

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/transparency-dev/formats/log"
	f_note "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/witness/persistence/sqlite"
	"github.com/transparency-dev/witness/witness"
	"golang.org/x/mod/sumdb/note"
)

// Witness is a region's witness of the hub's log (C2SP tlog-witness): it
// cosigns a checkpoint only when it is consistent with the last one it
// cosigned, so a rolled-back or forked history is refused. Its key and its
// state live under its own directory; a region node runs its own, and the
// demo runs one per region in the hub's process.
type Witness struct {
	// Name is the region the witness belongs to, e.g. "110000".
	Name string
	// Key is the witness's cosignature/v1 verifier key.
	Key string

	w        *witness.Witness
	handler  *witness.HTTPHandler
	origin   string
	logKey   note.Verifier
	close    func() error
	refusals atomic.Uint64
	log      *slog.Logger
	onRefuse func(witness string, status int)
}

// WitnessName returns the signer name of the witness of region in the log
// origin's namespace.
func WitnessName(origin, region string) string { return origin + "/witness/" + region }

// OpenWitness opens (creating on first use) the witness of region under
// dir for the log whose origin and checkpoint key are given. onRefuse, if
// not nil, is called when the witness refuses a checkpoint as rolled back,
// forked or badly signed.
func OpenWitness(ctx context.Context, dir, region, origin, logKey string, logger *slog.Logger, onRefuse func(witness string, status int)) (*Witness, error) {
	lv, err := note.NewVerifier(logKey)
	if err != nil {
		return nil, fmt.Errorf("witness %s: log key: %w", region, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	name := WitnessName(origin, region)
	skey, vkey, err := keyPair(dir, versioned("witness", origin), name)
	if err != nil {
		return nil, fmt.Errorf("witness %s: %w", region, err)
	}
	signer, err := f_note.NewSignerForCosignatureV1(skey)
	if err != nil {
		return nil, fmt.Errorf("witness %s: %w", region, err)
	}
	cosigKey, err := f_note.VKeyToCosignatureV1(vkey)
	if err != nil {
		return nil, fmt.Errorf("witness %s: %w", region, err)
	}
	p, closeDB, err := sqlite.New(ctx, sqlite.Opts{Path: filepath.Join(dir, "witness.db"), MaxOpenConns: 1})
	if err != nil {
		return nil, fmt.Errorf("witness %s: %w", region, err)
	}
	w, err := witness.New(ctx, witness.Opts{
		Persistence: p,
		Signers:     []note.Signer{signer},
		VerifierForLog: func(_ context.Context, o string) (note.Verifier, bool, error) {
			if o != origin {
				return nil, false, nil
			}
			return lv, true, nil
		},
	})
	if err != nil {
		closeDB()
		return nil, fmt.Errorf("witness %s: %w", region, err)
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Witness{Name: region, Key: cosigKey, w: w, handler: witness.NewHTTPHandler(w), origin: origin, logKey: lv,
		close: closeDB, log: logger, onRefuse: onRefuse}, nil
}

// Close closes the witness's state.
func (w *Witness) Close() error { return w.close() }

// Refusals returns how many checkpoints the witness has refused.
func (w *Witness) Refusals() uint64 { return w.refusals.Load() }

// Latest returns the last checkpoint the witness cosigned, or nil.
func (w *Witness) Latest(ctx context.Context, origin string) ([]byte, error) {
	return w.w.GetCheckpoint(ctx, origin)
}

// ServeHTTP answers the tlog-witness add-checkpoint request.
//
// A request is first checked on its own: an old size, proof lines and a
// checkpoint that the log's key signed, for this log. Anything else —
// garbage, an unsigned or foreign checkpoint, a body over 64 KiB — is
// refused with 400, 403 or 413 and is no evidence against the log, so it
// is not counted as a refusal. Only a checkpoint the log signed that the
// witness still will not cosign (rolled back, forked) is.
func (w *Witness) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxWitnessRequest+1))
	if err != nil {
		http.Error(rw, "cannot read the request", http.StatusBadRequest)
		return
	}
	if len(body) > maxWitnessRequest {
		http.Error(rw, "an add-checkpoint request has at most 64 KiB", http.StatusRequestEntityTooLarge)
		return
	}
	if status, msg := w.precheck(body); status != 0 {
		http.Error(rw, msg, status)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := &statusRecorder{ResponseWriter: rw}
	// The log stops waiting once its quorum has cosigned; this witness
	// still records the checkpoint, so it keeps up with the log.
	w.handler.AddCheckpoint(rec, r.WithContext(context.WithoutCancel(r.Context())))
	switch rec.status {
	case http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity:
		// 409 is the protocol's "your old size is stale": the log retries.
		// These are refusals: a checkpoint that rolls back, forks, is not
		// signed by the log's key or names another log.
		w.refusals.Add(1)
		w.log.Error("ledger witness refused a checkpoint: rolled back, forked or badly signed", "witness", w.Name, "status", rec.status)
		if w.onRefuse != nil {
			w.onRefuse(w.Name, rec.status)
		}
	}
}

// maxWitnessRequest bounds an add-checkpoint request: an old size, at
// most 63 proof hashes and a checkpoint with its signatures.
const maxWitnessRequest = 64 << 10

// precheck returns the status and message that refuse an add-checkpoint
// request in C2SP tlog-witness form, or 0 when the request is well formed
// and carries a checkpoint of this log signed by its key.
func (w *Witness) precheck(body []byte) (int, string) {
	head, cp, ok := bytes.Cut(body, []byte("\n\n"))
	lines := strings.Split(string(head), "\n")
	if !ok || !strings.HasPrefix(lines[0], "old ") {
		return http.StatusBadRequest, "want \"old SIZE\", the consistency proof's lines, an empty line and the checkpoint"
	}
	if _, err := strconv.ParseUint(strings.TrimPrefix(lines[0], "old "), 10, 64); err != nil {
		return http.StatusBadRequest, "the old size is not a number"
	}
	if len(lines)-1 > 63 {
		return http.StatusBadRequest, "a consistency proof has at most 63 hashes"
	}
	for _, l := range lines[1:] {
		if h, err := base64.StdEncoding.DecodeString(l); err != nil || len(h) != 32 {
			return http.StatusBadRequest, "a proof line is not a base64 SHA-256 hash"
		}
	}
	if _, _, _, err := log.ParseCheckpoint(cp, w.origin, w.logKey); err != nil {
		return http.StatusForbidden, "not a checkpoint of " + w.origin + " signed by its key"
	}
	return 0, ""
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}
