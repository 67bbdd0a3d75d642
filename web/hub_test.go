package web_test

import (
	"testing"

	"github.com/hutong/hutong/internal/hubtest"
)

// hub is the dashboard as the hub serves it: beside the API, over loopback.
type hub struct{ url string }

func newHub(t *testing.T) *hub { return &hub{url: hubtest.New(t, nil).URL} }
