package main

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/events"
	"github.com/hutong/hutong/sqlstore"
)

// eventsParts are the subscriptions' parts of the hub (issue 20).
type eventsParts struct {
	Subscriptions *sqlstore.Subscriptions
	Broker        *events.Broker
	Engine        *events.Engine
}

// openEvents opens the subscriptions: the store, the NATS broker (the
// configured cluster, or a server embedded in the hub with JetStream under
// DATA/nats, listening on nats_listen or a free port when that is taken)
// and the delivery engine, which startEvents runs. The API serves them.
func (m *Main) openEvents(ctx context.Context) error {
	rules := hutong.SubscriptionRules{Demo: m.demo, AllowedHosts: m.Config.WebhookHosts}
	subs := sqlstore.NewSubscriptions(m.DB, m.Requests, rules)
	var b *events.Broker
	var err error
	if m.Config.NATS != "" {
		b, err = events.External(m.Config.NATS)
	} else {
		host, port := "127.0.0.1", 4222
		if m.Config.NATSListen != "" {
			h, p, perr := net.SplitHostPort(m.Config.NATSListen)
			if perr != nil {
				return fmt.Errorf("config: nats_listen %q: %w", m.Config.NATSListen, perr)
			}
			host = h
			if port, perr = strconv.Atoi(p); perr != nil {
				return fmt.Errorf("config: nats_listen %q: bad port", m.Config.NATSListen)
			}
		}
		secret, serr := m.DB.Secret(ctx, "nats_secret")
		if serr != nil {
			return serr
		}
		b, err = events.Embedded(filepath.Join(m.Config.Data, "nats"), host, port, secret)
	}
	if err != nil {
		return err
	}
	m.Events = &eventsParts{Subscriptions: subs, Broker: b, Engine: &events.Engine{
		Broker: b, Feed: subs, Agreements: m.Requests, Auditor: m.Ledger, Masker: m.Exchange.Masker,
		Rules: rules, Now: m.clock.Now, Logger: m.Logger.With("component", "events"),
	}}
	m.HTTP.Subscriptions, m.HTTP.SubscriptionNATSURL, m.HTTP.SubscriptionNATSGrant = subs, b.URL, b.Grant
	m.Logger.Info("subscriptions deliver over NATS JetStream", "url", b.URL, "embedded", m.Config.NATS == "")
	return nil
}

// startEvents runs the delivery engine until ctx ends.
func (m *Main) startEvents(ctx context.Context) {
	if m.Events == nil {
		return
	}
	m.bg.Add(1)
	go func() {
		defer m.bg.Done()
		if err := m.Events.Engine.Run(ctx); err != nil {
			m.Logger.Error("subscriptions: delivery stopped", "err", err)
		}
	}()
}

// closeEvents closes the broker, after the engine stopped.
func (m *Main) closeEvents() {
	if m.Events != nil {
		m.Events.Broker.Close()
	}
}
