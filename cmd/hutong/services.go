package main

import (
	"context"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/demo"
	"github.com/hutong/hutong/services"
	"github.com/hutong/hutong/sqlstore"
)

// openServices wires cross-province services: the evidence broker over
// the governed exchange, the record of whose data each release returned, and in the demo its four services with their
// standing agreements, applicants and officers.
func (m *Main) openServices(ctx context.Context, catalog hutong.CatalogService, rows hutong.RowService, auth hutong.AuthService, cal *hutong.Calendar) error {
	store, uses := sqlstore.NewServices(m.DB), sqlstore.NewDataUses(m.DB)
	key, err := m.DB.Secret(ctx, "subject_key")
	if err != nil {
		return err
	}
	// The exchange notes whose rows each release returned, for people's
	// record of the uses of their data.
	m.Exchange.Subjects, m.Exchange.SubjectKey = uses, key
	m.Applications = &services.Broker{Store: store, Exchange: m.Exchange, Calendar: cal, Now: m.clock.Now, Uses: uses, SubjectKey: key}
	if !m.demo {
		return nil
	}
	return demo.LoadServices(ctx, demo.ServiceDeps{Catalog: catalog, Rows: rows, Auth: auth, Requests: m.Requests, Services: store},
		demo.Options{Seed: m.Config.Seed, Scale: m.Config.Scale}, m.Logger)
}
