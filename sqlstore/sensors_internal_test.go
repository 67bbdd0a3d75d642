package sqlstore

import (
	"strings"
	"testing"
)

func TestStationPassword(t *testing.T) {
	h := hashStationPassword("123456", stationIterations)
	if strings.Contains(h, "123456") || !strings.HasPrefix(h, "pbkdf2-sha256$20000$") {
		t.Errorf("hash %q", h)
	}
	if !checkPassword(h, "123456") || checkPassword(h, "123457") {
		t.Error("checkPassword does not tell the password from another")
	}
	if h2 := hashStationPassword("123456", stationIterations); h2 == h {
		t.Error("two hashes of one password are equal: no salt")
	}
}
