package node

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/ledger"
)

// AuditReport is what checking the node's log against the hub's ledger
// found: every query the node answered must have an entry in the ledger
// naming it. A provider holds it up to show the hub audits all it takes.
type AuditReport struct {
	Region string `json:"region"`
	// The ledger's checkpoint the log was checked against, verified with
	// the transparency-dev libraries: its size and the witnesses that
	// cosigned it.
	LedgerSize uint64   `json:"ledger_size"`
	Witnesses  []string `json:"witnesses"`
	// OwnWitness is true when this node's own witness has cosigned a
	// checkpoint of the ledger (of OwnWitnessSize entries) and the
	// checked one is consistent with it: the hub cannot show this node
	// one history and others another.
	OwnWitness     bool      `json:"own_witness"`
	OwnWitnessSize uint64    `json:"own_witness_size"`
	CheckedAt      time.Time `json:"checked_at"`
	Served         int64     `json:"served"`  // queries answered and checked
	Matched        int64     `json:"matched"` // of them, with their ledger entry
	Refused        int64     `json:"refused"` // queries the node refused
	Missing        []Served  `json:"missing"` // answered, with no ledger entry: the hub took data unaudited
	Mismatched     []Served  `json:"mismatched"`
	Pending        int64     `json:"pending"` // answered within the grace period, checked next time
}

// Clean reports whether every query the node answered is in the ledger.
func (r *AuditReport) Clean() bool { return len(r.Missing) == 0 && len(r.Mismatched) == 0 }

// MaxReported caps the missing queries a report lists.
const MaxReported = 1000

// Audit checks the node's served-query log against the hub's ledger. It
// walks the whole ledger as a monitor would (checkpoint signature and
// witness quorum, every entry against the tiles, the root recomputed) and
// collects the query ids the hub's entries name; then every query the
// node answered more than grace ago must be among them, for the same
// resource and agreement.
func (n *Node) Audit(ctx context.Context, grace time.Duration) (*AuditReport, error) {
	if err := n.fetchConfig(ctx); err != nil {
		return nil, fmt.Errorf("reading the ledger's keys from the hub: %w", err)
	}
	keys := *n.ledger.Load()
	if keys.Origin != n.state.Origin || keys.LogKey != n.state.LogKey {
		return nil, fmt.Errorf("the hub's ledger is now %s with another key than the one this node enrolled with: the log was replaced", keys.Origin)
	}
	u, err := url.Parse(n.state.Hub + "/ledger/")
	if err != nil {
		return nil, err
	}
	f, err := client.NewHTTPFetcher(u, &http.Client{Timeout: time.Minute})
	if err != nil {
		return nil, err
	}
	// The public log holds commitments only: the node fetches its
	// region's entries, with their salts, over the hub API for nodes, and
	// the walk below opens each against its commitment.
	opened, err := n.ledgerEntries(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading this region's ledger entries from the hub: %w", err)
	}
	type logged struct{ resource, agreement string }
	inLedger := map[string]logged{}
	v := &ledger.Verifier{Keys: keys, Source: f, Opened: opened, Visit: func(_ uint64, ev *hutong.AuditEvent) {
		if ev.Query != "" {
			inLedger[ev.Query] = logged{ev.Resource, ev.Agreement}
		}
	}}
	// The checkpoint this node's own witness cosigned last: the ledger
	// must extend it.
	var prev []byte
	if n.witness != nil {
		if prev, err = n.witness.Latest(ctx, n.state.Origin); err != nil {
			return nil, fmt.Errorf("reading this node's witness: %w", err)
		}
	}
	// Every entry written before the checkpoint is read must be in it.
	n.log.sync()
	checked := n.now()
	var rep *ledger.LogReport
	for attempt := 0; ; attempt++ {
		rep, err = v.VerifyLog(ctx, prev)
		// The witness may have cosigned a checkpoint the hub has not
		// published yet: wait for it.
		if err == nil || !errors.Is(err, ledger.ErrRolledBack) || attempt == 20 {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	if err != nil {
		return nil, fmt.Errorf("the hub's ledger does not verify: %w", err)
	}
	out := &AuditReport{Region: n.state.Region, LedgerSize: rep.Checkpoint.Size, Witnesses: rep.Checkpoint.Witnesses,
		CheckedAt: checked.UTC(), Missing: []Served{}, Mismatched: []Served{}}
	if prev != nil && rep.Consistent {
		out.OwnWitness = true
		if cp, _, _, err := log.ParseCheckpoint(prev, n.state.Origin, noteVerifier(keys)); err == nil {
			out.OwnWitnessSize = cp.Size
		}
	}
	cutoff := checked.Add(-grace)
	var after int64
	for {
		batch, err := n.log.entries(ctx, after, 10_000)
		if err != nil {
			return nil, fmt.Errorf("reading the node's log: %w", err)
		}
		if len(batch) == 0 {
			break
		}
		for _, s := range batch {
			after = s.Seq
			switch {
			case s.Kind != "read" && s.Kind != "count":
				continue
			case s.Decision != "allow":
				out.Refused++
				continue
			case s.Time.After(cutoff):
				out.Pending++
				continue
			}
			out.Served++
			l, ok := inLedger[s.Query]
			switch {
			case !ok:
				if len(out.Missing) < MaxReported {
					out.Missing = append(out.Missing, s)
				}
			case l.resource != s.Resource || l.agreement != s.Agreement:
				if len(out.Mismatched) < MaxReported {
					out.Mismatched = append(out.Mismatched, s)
				}
			default:
				out.Matched++
			}
		}
	}
	return out, nil
}

// ledgerEntries fetches the full ledger entries of the node's region from
// the hub API for nodes, page by page.
func (n *Node) ledgerEntries(ctx context.Context) (map[uint64]hutong.LogEntry, error) {
	out := map[uint64]hutong.LogEntry{}
	cursor := ""
	for {
		var page hutong.EntryPage
		u := n.state.NodeAPI + "/node/v1/ledger/entries?limit=1000"
		if cursor != "" {
			u += "&cursor=" + url.QueryEscape(cursor)
		}
		if err := getJSON(ctx, n.hub, u, &page); err != nil {
			return nil, err
		}
		for _, e := range page.Items {
			if e.Entry != nil {
				out[e.Index] = hutong.LogEntry{Index: e.Index, Data: e.Entry, Salt: e.Salt}
			}
		}
		if page.NextCursor == "" {
			return out, nil
		}
		cursor = page.NextCursor
	}
}

// noteVerifier returns the ledger's checkpoint verifier, or one that
// verifies nothing when the key is malformed.
func noteVerifier(k hutong.LedgerKeys) note.Verifier {
	lv, _, err := ledger.Verifiers(k)
	if err != nil {
		return nil
	}
	return lv
}
