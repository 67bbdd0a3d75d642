package ledger

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/hutong/hutong"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	f_note "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// Verifiers returns the verifier of the log key and those of the witness
// keys.
func Verifiers(k hutong.LedgerKeys) (note.Verifier, []note.Verifier, error) {
	lv, err := note.NewVerifier(k.LogKey)
	if err != nil {
		return nil, nil, fmt.Errorf("log key %q: %w", k.LogKey, err)
	}
	if lv.Name() != k.Origin {
		return nil, nil, fmt.Errorf("log key is for %q, not the origin %q", lv.Name(), k.Origin)
	}
	var ws []note.Verifier
	for _, wk := range k.WitnessKeys {
		v, err := f_note.NewVerifierForCosignatureV1(wk)
		if err != nil {
			return nil, nil, fmt.Errorf("witness key %q: %w", wk, err)
		}
		ws = append(ws, v)
	}
	if k.Quorum < 0 || k.Quorum > len(ws) {
		return nil, nil, fmt.Errorf("quorum %d of %d witnesses", k.Quorum, len(ws))
	}
	return lv, ws, nil
}

// ReadKeys reads a keys file (the JSON of /ledger/keys).
func ReadKeys(path string) (hutong.LedgerKeys, error) {
	var k hutong.LedgerKeys
	b, err := os.ReadFile(path)
	if err != nil {
		return k, err
	}
	if err := json.Unmarshal(b, &k); err != nil {
		return k, fmt.Errorf("%s: %w", path, err)
	}
	if _, _, err := Verifiers(k); err != nil {
		return k, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// keyPair loads the note key pair kept in dir/name.key and dir/name.pub, or
// creates it for signer name when missing. The private key file is
// readable by its owner only.
func keyPair(dir, file, name string) (skey, vkey string, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", err
	}
	// Hub processes starting together on a shared directory must not
	// each make a key: the first makes it under the lock, the others read
	// it.
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return "", "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", "", fmt.Errorf("locking %s: %w", dir, err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	priv, pub := filepath.Join(dir, file+".key"), filepath.Join(dir, file+".pub")
	s, err1 := os.ReadFile(priv)
	v, err2 := os.ReadFile(pub)
	switch {
	case err1 == nil && err2 == nil:
		skey, vkey = strings.TrimSpace(string(s)), strings.TrimSpace(string(v))
		if !strings.HasPrefix(vkey, name+"+") {
			return "", "", fmt.Errorf("key %s is for %q, want %q", pub, strings.SplitN(vkey, "+", 2)[0], name)
		}
		return skey, vkey, nil
	case errors.Is(err1, fs.ErrNotExist) && errors.Is(err2, fs.ErrNotExist):
		skey, vkey, err = note.GenerateKey(rand.Reader, name)
		if err != nil {
			return "", "", err
		}
		if err := os.WriteFile(priv, []byte(skey+"\n"), 0o600); err != nil {
			return "", "", err
		}
		if err := os.WriteFile(pub, []byte(vkey+"\n"), 0o644); err != nil {
			return "", "", err
		}
		return skey, vkey, nil
	case err1 != nil:
		return "", "", fmt.Errorf("key %s: %w", priv, err1)
	}
	return "", "", fmt.Errorf("key %s: %w", pub, err2)
}

// LogKey returns the log's checkpoint verifier key kept under dir (the
// ledger's Config.Dir), creating the key pair on first use: witnesses need
// it before the log opens.
func LogKey(dir, origin string) (string, error) {
	_, vkey, err := keyPair(filepath.Join(dir, "keys"), keyFile(dir, origin), origin)
	return vkey, err
}
