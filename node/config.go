package node

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"time"

	"github.com/hutong/hutong"
)

// Config is a node's configuration file: where it listens and the local
// tables it publishes.
type Config struct {
	// Listen is the address the node serves the hub on;
	// 127.0.0.1:9443 when empty.
	Listen string `json:"listen"`
	// URL is where the hub reaches the node; https://LISTEN when empty.
	// Its host goes into the node's certificate.
	URL string `json:"url"`
	// SyncInterval is how often the node fetches the agreements over its
	// resources from the hub ("10s" when empty). A query naming an
	// agreement the node does not know makes it fetch them at once.
	SyncInterval string `json:"sync_interval,omitempty"`
	// Resources are the tables the node publishes to the hub's catalog.
	Resources []ResourceConfig `json:"resources"`
}

// ResourceConfig is a resource the node publishes: its catalog metadata
// (as POST /api/v1/resources takes it, without items) and its source,
// whose items become the resource's items.
type ResourceConfig struct {
	hutong.Resource
	Source SourceConfig `json:"source"`
}

// DefaultListen is where a node listens when its config does not say.
const DefaultListen = "127.0.0.1:9443"

// LoadConfig reads and checks a node configuration file.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("node config: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("node config %s: %w", path, err)
	}
	if err := c.Check(); err != nil {
		return nil, fmt.Errorf("node config %s: %w", path, err)
	}
	return &c, nil
}

// Check fills in defaults and checks what can be checked without the
// sources: addresses, the sync interval, resource codes.
func (c *Config) Check() error {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("listen %q: %v", c.Listen, err)
	}
	if c.URL == "" {
		c.URL = "https://" + c.Listen
	}
	if u, err := url.Parse(c.URL); err != nil || u.Scheme != "https" || u.Host == "" || u.Path != "" {
		return fmt.Errorf("url %q must be https://host:port, where the hub reaches the node", c.URL)
	}
	if _, err := c.syncInterval(); err != nil {
		return err
	}
	seen := map[string]bool{}
	for i, r := range c.Resources {
		switch {
		case r.Code == "":
			return fmt.Errorf("resources[%d]: code is required", i)
		case seen[r.Code]:
			return fmt.Errorf("resources[%d]: code %s appears twice", i, r.Code)
		case len(r.Items) > 0:
			return fmt.Errorf("resources[%d] (%s): items come from source.items, not the resource", i, r.Code)
		}
		seen[r.Code] = true
	}
	return nil
}

func (c *Config) syncInterval() (time.Duration, error) {
	if c.SyncInterval == "" {
		return 10 * time.Second, nil
	}
	d, err := time.ParseDuration(c.SyncInterval)
	if err != nil || d < 100*time.Millisecond || d > time.Hour {
		return 0, fmt.Errorf("sync_interval %q must be a duration between 100ms and 1h", c.SyncInterval)
	}
	return d, nil
}
