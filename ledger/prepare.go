package ledger

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"

	"github.com/hutong/hutong"
)

// Preparer is what Prepare needs of the audit journal.
type Preparer interface {
	hutong.Auditor
	// AssignSalts gives a salt to every entry recorded without one.
	AssignSalts(ctx context.Context) (int, error)
}

// AuditHandover is the kind of the journal entry that moves the public log
// from clear-text entries to commitments: it names the old log's origin and
// holds its last checkpoint, signed and cosigned, so the new log commits to
// the old one's history.
const AuditHandover = "ledger.handover"

// originFile keeps the log's origin when it is not the configured one.
const originFile = "origin"

// Prepare settles, before the witnesses and the log open, the origin of
// the ledger under dir (configured, unless the log moved to a new one)
// and readies the journal for a log of commitments: every entry gets a
// salt. A log written before the public log held commitments — whose
// leaves are the audit entries in clear, readable by anyone — is moved
// once, without hand repair: it is archived read-only under dir/archive
// (no longer served), the journal records a hand-over entry holding its
// last checkpoint, and the ledger continues under a new origin (the old
// one with /v2, /v3 …), whose log holds a commitment of every journal
// entry, the old ones and the hand-over included. Witnesses start afresh
// for the new origin. It returns the origin to open the witnesses and the
// log with.
func Prepare(ctx context.Context, dir, configured string, journal Preparer, logger *slog.Logger) (string, error) {
	if logger == nil {
		logger = slog.Default()
	}
	origin := configured
	if b, err := os.ReadFile(filepath.Join(dir, originFile)); err == nil {
		origin = strings.TrimSpace(string(b))
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("ledger: %w", err)
	}
	if _, err := journal.AssignSalts(ctx); err != nil {
		return "", fmt.Errorf("ledger: salting the journal: %w", err)
	}
	raw, size, clear, err := oldLog(ctx, filepath.Join(dir, "log"), origin, dir)
	if err != nil || !clear {
		return origin, err
	}

	// Move the clear-text log aside, read-only, and hand over.
	archive := filepath.Join(dir, "archive", strings.NewReplacer("/", "_", ":", "_").Replace(origin)+"-"+strconv.FormatInt(time.Now().Unix(), 10))
	if err := os.MkdirAll(filepath.Dir(archive), 0o700); err != nil {
		return "", fmt.Errorf("ledger: %w", err)
	}
	if err := os.Rename(filepath.Join(dir, "log"), archive); err != nil {
		return "", fmt.Errorf("ledger: archiving the clear-text log: %w", err)
	}
	readOnly(archive)
	next := nextOrigin(origin)
	if _, err := journal.Record(ctx, &hutong.AuditEvent{Kind: AuditHandover, Actor: "hub", Decision: "allow",
		Reason: fmt.Sprintf("the public log moves from %s, whose leaves were the entries in clear, to %s, whose leaves are commitments; %s ends at size %d with this checkpoint:\n%s",
			origin, next, origin, size, raw)}); err != nil {
		return "", fmt.Errorf("ledger: recording the hand-over: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, originFile), []byte(next+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("ledger: %w", err)
	}
	logger.Warn("ledger: the clear-text log was archived and the ledger moved to a log of commitments under a new origin; region nodes' witnesses must be enrolled again",
		"old", origin, "new", next, "archive", archive, "entries", size)
	return next, nil
}

// oldLog reports whether the log in logDir holds its entries in clear (a
// log from before commitments), with its last checkpoint and size.
func oldLog(ctx context.Context, logDir, origin, dir string) (raw []byte, size uint64, clear bool, err error) {
	raw, err = os.ReadFile(filepath.Join(logDir, "checkpoint"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, false, nil
	}
	if err != nil {
		return nil, 0, false, fmt.Errorf("ledger: %w", err)
	}
	_, vkey, err := keyPair(filepath.Join(dir, "keys"), keyFile(dir, origin), origin)
	if err != nil {
		return nil, 0, false, fmt.Errorf("ledger: %w", err)
	}
	lv, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, 0, false, fmt.Errorf("ledger: %w", err)
	}
	cp, _, _, err := log.ParseCheckpoint(raw, origin, lv)
	if err != nil {
		return nil, 0, false, fmt.Errorf("ledger: the log's checkpoint: %w", err)
	}
	if cp.Size == 0 {
		return raw, 0, false, nil
	}
	f := client.FileFetcher{Root: logDir}
	b, err := client.GetEntryBundle(ctx, f.ReadEntryBundle, 0, cp.Size)
	if err != nil || len(b.Entries) == 0 {
		return nil, 0, false, fmt.Errorf("ledger: the log's first entries: %v", err)
	}
	return raw, cp.Size, !hutong.IsCommitment(b.Entries[0]), nil
}

// nextOrigin returns the origin after origin: /v2 added, or its /vN raised.
func nextOrigin(origin string) string {
	if i := strings.LastIndex(origin, "/v"); i >= 0 {
		if n, err := strconv.Atoi(origin[i+2:]); err == nil && n >= 2 {
			return origin[:i] + "/v" + strconv.Itoa(n+1)
		}
	}
	return origin + "/v2"
}

// keyFile names the file of the log's key pair for origin under dir: "log"
// for the first origin, log-vN for a later one (/vN), so that a moved log
// signs with a key of its own name.
func keyFile(dir, origin string) string { return versioned("log", origin) }

// versioned returns base for a first origin and base-vN for a later one.
func versioned(base, origin string) string {
	if i := strings.LastIndex(origin, "/v"); i >= 0 {
		if n, err := strconv.Atoi(origin[i+2:]); err == nil && n >= 2 {
			return base + "-v" + strconv.Itoa(n)
		}
	}
	return base
}

// readOnly takes write permission from every file and directory under root.
func readOnly(root string) {
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		mode := os.FileMode(0o444)
		if d.IsDir() {
			mode = 0o555
		}
		os.Chmod(path, mode)
		return nil
	})
}
