package main

import (
	"context"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/demo"
	"github.com/hutong/hutong/sqlstore"
	"github.com/hutong/hutong/supervision"
)

// openSupervision wires supervision (issue 16): the alerts and
// suspensions in the database, the exchange refusing suspended
// agreements, and the API serving the alerts. The detectors start with
// the background work (runSupervision).
func (m *Main) openSupervision(ctx context.Context, calendar *hutong.Calendar) error {
	if m.Config.NoSupervision {
		return nil
	}
	alerts, err := sqlstore.NewAlerts(ctx, m.DB)
	if err != nil {
		return err
	}
	// The demo's webhooks may post to loopback http, a deployment's only
	// to public https addresses and the configured hosts.
	alerts.WebhookInsecure, alerts.WebhookHosts = m.demo, m.Config.WebhookHosts
	m.Alerts = alerts
	m.supervisionCalendar = calendar
	m.Exchange.Suspensions = alerts
	if m.Events != nil {
		m.Events.Engine.Suspensions = alerts // subscriptions hold too
	}
	m.HTTP.Alerts, m.HTTP.Webhooks = alerts, alerts
	// Failed sign-ins reach the detectors through a bounded queue: a
	// flood of guesses is dropped past it, never waited for.
	m.security = make(chan hutong.SecurityEvent, 1024)
	m.HTTP.Security = func(e hutong.SecurityEvent) {
		select {
		case m.security <- e:
		default:
		}
	}
	if m.Web != nil {
		m.Web.Alerts = alerts
	}
	return nil
}

// runSupervision runs the detectors over the journal, and the webhook
// deliverer, until ctx ends. Several hub processes on one database would
// each run them and repeat alerts and deliveries, so only a hub that is
// not shared runs them for now.
func (m *Main) runSupervision(ctx context.Context) {
	if m.Alerts == nil || m.DB.Shared() {
		return
	}
	d := &supervision.Deliverer{Outbox: m.Alerts, Insecure: m.demo, AllowHosts: m.Config.WebhookHosts, Logger: m.Logger}
	det := supervision.NewDetector(supervision.DefaultRules(), m.supervisionCalendar)
	staff := hutong.NewContextWithActor(ctx, &hutong.Actor{User: &hutong.User{Login: "supervision", Roles: []hutong.Role{hutong.RoleAdmin}}})
	det.Level = func(code string) int { // 就高从严: level 3–4 resources are judged more strictly
		r, err := m.HTTP.Catalog.Resource(staff, code)
		if err != nil {
			return 0
		}
		return r.Level
	}
	s := &supervision.Supervisor{Journal: m.Audit, Recorder: m.Alerts, Detector: det, Poll: time.Second, Logger: m.Logger,
		Raised: func([]*hutong.Alert) { d.Wake() }, Security: m.security}
	m.bg.Add(2)
	go func() {
		defer m.bg.Done()
		if err := s.Run(ctx); err != nil && ctx.Err() == nil {
			m.Logger.Error("supervision stopped", "err", err)
		}
	}()
	go func() {
		defer m.bg.Done()
		d.Run(ctx)
	}()
}

// demoIncidents plays the demo's misuses after its month of use
// (demo.Incidents), for supervision to find on the first run.
func (m *Main) demoIncidents(ctx context.Context) error {
	if m.Config.NoSupervision {
		return nil
	}
	calls, err := demo.Incidents(ctx, demo.History{
		Directory: m.HTTP.Directory, Catalog: m.HTTP.Catalog, Auth: m.HTTP.Auth, Requests: m.Requests, Exchange: m.Exchange,
		Stats: sqlstore.NewStats(m.DB), SetClock: m.clock.at, Now: time.Now, Settle: m.Audit.FlushOutbox,
		Seed: m.Config.Seed, Scale: m.Config.Scale,
	})
	if err == nil {
		m.Logger.Info("demo incidents played for supervision", "calls", calls)
	}
	return err
}
