package job

import (
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"entgo.io/ent/dialect"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// MigrationSQL returns River's up migrations newer than version after, for
// dialect (dialect.SQLite or dialect.Postgres), as one script for
// store/migrations. The script also records the versions in River's own
// river_migration table, as River's migrator would, so that rivermigrate and
// the river CLI see them applied and never apply them a second time.
//
// after is the newest River version an earlier project migration applied: 0
// the first time, then the last version of the previous script when an
// upgrade of River brings new versions.
func MigrationSQL(dialectName string, after int) (string, error) {
	driver, err := newDriver(dialectName, nil)
	if err != nil {
		return "", err
	}
	migrator, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return "", fmt.Errorf("job: river migrator: %w", err)
	}
	var (
		b        strings.Builder
		versions []string
	)
	for _, m := range migrator.AllVersions() {
		if m.Version <= after {
			continue
		}
		up := unqualify(m.SQLUp)
		if dialectName == dialect.Postgres && m.Version == 2 {
			if up, err = createPendingState(up); err != nil {
				return "", err
			}
		}
		fmt.Fprintf(&b, "-- River migration %03d: %s\n%s\n\n", m.Version, m.Name, terminate(up))
		versions = append(versions, fmt.Sprintf("('%s', %d)", riverdriver.MigrationLineMain, m.Version))
	}
	if len(versions) == 0 {
		return "", fmt.Errorf("job: River has no migration after version %d", after)
	}
	// river_migration has the line column from version 5 on, which every
	// script reaches: River v0.34.0 has 6 versions.
	fmt.Fprintf(&b, "INSERT INTO river_migration (line, version) VALUES %s;\n", strings.Join(versions, ", "))
	return b.String(), nil
}

// newDriver returns River's driver for dialect over db, which may be nil for
// a driver that only serves its migrations.
func newDriver(dialectName string, db *sql.DB) (riverdriver.Driver[*sql.Tx], error) {
	switch dialectName {
	case dialect.Postgres:
		return riverdatabasesql.New(db), nil
	case dialect.SQLite:
		return riversqlite.New(db), nil
	default:
		return nil, fmt.Errorf("job: unsupported dialect %q (want %q or %q)", dialectName, dialect.SQLite, dialect.Postgres)
	}
}

// createPendingState makes River's version 2 create the job state enum with
// the value 'pending' that version 4 adds. PostgreSQL refuses to use an enum
// value added by ALTER TYPE … ADD VALUE before the transaction that added it
// commits ("unsafe use of new value"), and version 6 uses it; River's
// migrator commits after each version, a project migration only at its end.
// Created with the type, the value is safe at once, and version 4's ADD VALUE
// IF NOT EXISTS does nothing. The enum ends up as River's migrator leaves it.
func createPendingState(sql string) (string, error) {
	const (
		river = "  'discarded',\n  'retryable',\n"
		ours  = "  'discarded',\n  'pending', -- from River's version 4, see job.MigrationSQL\n  'retryable',\n"
	)
	if strings.Count(sql, river) != 1 {
		return "", errors.New("job: River's version 2 no longer creates river_job_state as expected; revisit createPendingState")
	}
	return strings.Replace(sql, river, ours, 1), nil
}

// schemaTemplate marks where River's migrator puts a schema qualifier. The
// project's migrations are unqualified: the connection's schema (search_path
// on PostgreSQL) is the one they build.
const schemaTemplate = "/* TEMPLATE: schema */"

func unqualify(sql string) string {
	return strings.ReplaceAll(sql, schemaTemplate, "")
}

// terminate ends the last statement of sql with a semicolon, so that the next
// migration's first statement does not run into it. Some of River's files end
// without one; some hold only comments.
func terminate(sql string) string {
	sql = strings.TrimSpace(sql)
	lines := strings.Split(sql, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		line := strings.TrimSpace(lines[i])
		if line == "" || strings.HasPrefix(line, "--") {
			continue
		}
		if !strings.HasSuffix(line, ";") {
			lines[i] += ";"
		}
		break
	}
	return strings.Join(lines, "\n")
}
