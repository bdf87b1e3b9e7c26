// Package job runs Switchboard's background work (sends, schedules, timers,
// retries) as durable jobs in the application's own database, with River
// (riverqueue/river): riverdatabasesql over lib/pq for PostgreSQL, riversqlite
// over modernc.org/sqlite for SQLite. Both work on *sql.Tx, so one Client
// type serves both databases, over the same *sql.DB as the ent client.
//
// A job is inserted in the transaction of the write it belongs to, so it
// exists if and only if that write commits. A crash loses nothing: a job that
// was running when its instance died is retried elsewhere after
// Config.RescueStuckJobsAfter. Jobs therefore run at least once, not exactly
// once: workers must be idempotent.
//
// # Schema
//
// River's tables are part of store/migrations like any other change, never
// created by River at run time. The command
//
//	go run ./job/rivermigrations -out store/migrations -version 0003 -name river
//
// writes River's migrations (rivermigrate's SQL of each driver) as one file
// per dialect, which store.Migrate applies in one transaction. The file also
// records River's versions in River's river_migration table, as River's
// migrator does, so rivermigrate and the river CLI see them applied.
// [Client.Start] refuses a database whose River schema is not current. After
// upgrading River, generate the new versions only, with -after set to the
// last version already in store/migrations (6 for River v0.34.0).
//
// # Enqueueing with ent
//
// ent's generated Tx hides the *sql.Tx it runs on, and no ent feature flag
// exposes it (sql/execquery only adds ExecContext and QueryContext). The
// template ent/template/sqltx.tmpl, registered in ent/entc.go like
// ident.tmpl, generates (*ent.Tx).SQLTx; then:
//
//	err := store.WithTx(ctx, client, func(ctx context.Context, tx *ent.Tx) error {
//		msg, err := tx.Message.Create()….Save(ctx)
//		if err != nil {
//			return err
//		}
//		sqlTx, err := tx.SQLTx()
//		if err != nil {
//			return err
//		}
//		_, err = jobs.InsertTx(ctx, sqlTx, SendArgs{MessageID: msg.ID}, nil)
//		return err
//	})
//
// Statements River sends on the *sql.Tx bypass ent's hooks and privacy
// policies; River only touches its own tables. A driver wrapping ent's
// transactions (storetest.Counter) must give them an Unwrap() dialect.Tx
// method for SQLTx to reach the *sql.Tx.
//
// # Traps
//
//   - PostgreSQL refuses, inside the transaction that added it, an enum
//     value added by ALTER TYPE … ADD VALUE ("unsafe use of new value").
//     River's version 4 adds the job state 'pending' and version 6 uses it;
//     River's migrator commits between versions, a project migration does
//     not. [MigrationSQL] has version 2 create the enum with 'pending'
//     already, which leaves the schema exactly as River's migrator does (a
//     test compares the two). A future River version that does the same
//     would need its own file: generate it with -after.
//   - River's migration SQL holds /* TEMPLATE: schema */ placeholders that
//     its migrator fills in; the generated files leave them empty, so they
//     build the connection's schema (search_path on PostgreSQL), as the
//     project's other migrations do.
//   - Neither driver listens for new jobs (riversqlite: no LISTEN/NOTIFY;
//     riverdatabasesql: no listener), so the client polls: a job inserted in
//     a transaction starts up to Config.PollInterval after the commit.
//   - River's SQLite driver recommends a pool of one connection. The store's
//     WAL, busy_timeout and _txlock=immediate let River share the pool of
//     four instead, but SQLite has one writer: inserting a job outside the
//     transaction that holds the write lock waits on that transaction. Always
//     insert with the transaction at hand.
//   - SQLite reuses the ID of a rolled back or deleted job (river_job.id is a
//     rowid without AUTOINCREMENT): never use a job ID as a key elsewhere.
//   - River stops hard, cancelling running jobs, when the context given to
//     its Start is cancelled: [Client.Start] detaches its context so that
//     only [Client.Stop] stops the client, gracefully.
//   - Only the elected leader rescues stuck jobs, and a dead leader's lease
//     runs about 15 seconds; RescueStuckJobsAfter must exceed JobTimeout, or
//     a job still running is retried beside itself.
package job
