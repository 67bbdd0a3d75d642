package main

import (
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hutong/hutong"
	"github.com/hutong/hutong/demo"
	"github.com/hutong/hutong/node"
)

// startLocalNode runs a region node in the hub's process, as the demo and
// the benchmark do: enrolled through the hub's own API with a token the
// hub issues, exactly as a remote node would be, and served on ln.
func (m *Main) startLocalNode(ctx context.Context, region string, cfg *node.Config, ln net.Listener) (*node.Node, error) {
	cfg.Listen, cfg.URL = ln.Addr().String(), "https://"+ln.Addr().String()
	if err := cfg.Check(); err != nil {
		ln.Close()
		return nil, err
	}
	dir := filepath.Join(m.Config.Data, "nodes", region)
	token := ""
	if enrolled, url := node.Enrolled(dir); !enrolled || url != cfg.URL {
		admin := hutong.NewContextWithActor(ctx, &hutong.Actor{User: &hutong.User{Login: "hub", Roles: []hutong.Role{hutong.RoleAdmin}}})
		t, err := m.Nodes.Register.CreateEnrolmentToken(admin, region, 10*time.Minute)
		if err != nil {
			ln.Close()
			return nil, err
		}
		token = t.Token
	}
	n, err := startNode(ctx, dir, m.HTTP.URL(), token, cfg, m.Logger.With("node", region), ln)
	if err != nil {
		ln.Close()
		return nil, err
	}
	m.localNodes = append(m.localNodes, n)
	return n, nil
}

// demoNodePort is where the demo's node of a province listens, so that a
// second run finds it where it enrolled.
var demoNodePort = map[string]string{"110000": "9411", "120000": "9412", "130000": "9413"}

// startDemoNodes runs the demo's three provinces as region nodes in this
// process, each keeping its dataset at its source: Beijing and Hebei in
// CSV files, Tianjin in an SQLite database.
func (m *Main) startDemoNodes(ctx context.Context) error {
	depts := demo.Departments(m.Config.Seed)
	sets := demo.NodeDatasets(depts, demo.Options{Seed: m.Config.Seed, Scale: m.Config.Scale})
	for _, region := range slices.Sorted(maps.Keys(sets)) {
		ds := sets[region]
		dir := filepath.Join(m.Config.Data, "nodes", region)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		src := node.SourceConfig{}
		for i, it := range ds.Resource.Items {
			src.Items = append(src.Items, node.ItemColumn{Name: it.Name, Column: ds.Columns[i], Element: it.Element, Required: it.Required})
		}
		var err error
		if region == "120000" {
			src.Driver, src.DSN, src.Table, src.Key = node.DriverSQLite, filepath.Join(dir, "source.db"), "annual_reports", "id"
			err = writeDemoSQLite(src.DSN, src.Table, ds)
		} else {
			src.Driver, src.File = node.DriverCSV, filepath.Join(dir, "source.csv")
			err = writeDemoCSV(src.File, ds)
		}
		if err != nil {
			return fmt.Errorf("demo node %s: %w", region, err)
		}
		res := *ds.Resource
		res.Items = nil
		cfg := &node.Config{SyncInterval: "2s", Resources: []node.ResourceConfig{{Resource: res, Source: src}}}
		addr := "127.0.0.1:" + demoNodePort[region]
		if _, port, _ := net.SplitHostPort(m.Config.Addr); port == "0" {
			addr = "127.0.0.1:0"
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("demo node %s: %w", region, err)
		}
		if _, err := m.startLocalNode(ctx, region, cfg, ln); err != nil {
			return fmt.Errorf("demo node %s: %w", region, err)
		}
	}
	return nil
}

// hasDemoNodes reports whether any of the demo's regions is enrolled as a
// node in this data directory.
func (m *Main) hasDemoNodes() bool {
	for region := range demoNodePort {
		if ok, _ := node.Enrolled(filepath.Join(m.Config.Data, "nodes", region)); ok {
			return true
		}
	}
	return false
}

func writeDemoCSV(path string, ds *demo.NodeDataset) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write(ds.Columns)
	w.WriteAll(ds.Rows)
	if err := w.Error(); err != nil {
		return err
	}
	return writeFileAtomic(path, []byte(b.String()))
}

func writeDemoSQLite(path, table string, ds *demo.NodeDataset) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	tmp := path + ".tmp"
	os.Remove(tmp)
	db, err := sql.Open("sqlite", tmp)
	if err != nil {
		return err
	}
	defer db.Close()
	cols := make([]string, len(ds.Columns))
	for i, c := range ds.Columns {
		typ := "TEXT"
		switch ds.Resource.Items[i].Element {
		case "year", "count":
			typ = "INTEGER"
		case "amount":
			typ = "REAL"
		}
		cols[i] = c + " " + typ
	}
	if _, err := db.Exec(`CREATE TABLE ` + table + ` (id INTEGER PRIMARY KEY, ` + strings.Join(cols, ", ") + `)`); err != nil {
		return err
	}
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	st, err := tx.Prepare(`INSERT INTO ` + table + ` (` + strings.Join(ds.Columns, ", ") + `) VALUES (?` + strings.Repeat(", ?", len(ds.Columns)-1) + `)`)
	if err != nil {
		tx.Rollback()
		return err
	}
	for _, row := range ds.Rows {
		args := make([]any, len(row))
		for i, v := range row {
			args[i] = v
		}
		if _, err := st.Exec(args...); err != nil {
			tx.Rollback()
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if err := db.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
