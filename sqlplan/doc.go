// Package sqlplan writes the SQL of a source query: the one planner of the
// hub's row tables (sqlstore) and of the departments' tables a region node
// reads (node).
//
// A caller describes its table once (Table: the table, its integer key,
// each column's expressions, the type its values are bound as, whether
// empty text means missing) and its engine (Dialect: placeholders, how a
// prefix compares, whether parameters are cast), resolves each
// hutong.SourceQuery against it (Query: columns by position, condition
// values converted into bind arguments of the column's storage), and gets
// from Dialect.Select or Dialect.Count the statement with its arguments.
// The planner owns the operators' SQL, the numbering of placeholders,
// keyset paging, LIMIT and the prefix comparison; the caller owns how a
// value is stored.
//
// Every piece of SQL text comes from the Table, which the caller builds
// from its own configuration (quoted identifiers, expressions over them),
// never from a query; a query's values only ever become bind arguments.
//
// The package is stdlib and the root package only, and holds no state: its
// functions are safe for concurrent use, as are Tables shared read-only.
package sqlplan
