// Package store opens the database behind Switchboard and keeps its schema
// current.
//
// One code base runs on two databases: SQLite for a single instance and
// development, PostgreSQL for everything else. [Open] picks the database from
// the URL and returns a [DB] holding the ent client every other package uses.
//
// The schema is changed only by versioned migrations: plain SQL files, one
// directory per dialect, embedded in the binary and applied in order by
// [DB.Migrate]. The files are written by a tool, not by hand:
//
//	go run ./store/migrategen -name add_widget_color
//
// compares the ent schema (ent/schema) with the database the existing files
// produce and writes the difference as the next file for each dialect. A test
// in this package fails while the ent schema and the migrations disagree.
//
// Package storetest opens a migrated database per test, on SQLite always and
// on PostgreSQL when TEST_DATABASE_URL is set.
package store
