// Command migrategen writes the next versioned migration of each dialect: the
// SQL that takes a database built by the existing migrations to the ent
// schema. Run it from the module root after changing ent/schema and
// regenerating ent:
//
//	go run ./store/migrategen -name add_widget_color
//
// It builds each database from scratch, SQLite in a temporary file and
// PostgreSQL in a temporary schema of the database named by -dev-url,
// TEST_DATABASE_URL or DATABASE_URL, so the files apply to any database the
// earlier files built. A dialect without changes gets no file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// migrationsDir is where store embeds the migrations from, relative to the
// module root.
const migrationsDir = "store/migrations"

func main() {
	name := flag.String("name", "", "what the migration does, in snake_case, e.g. add_widget_color")
	devURL := flag.String("dev-url", firstNonEmpty(os.Getenv("TEST_DATABASE_URL"), os.Getenv("DATABASE_URL")),
		"PostgreSQL database to build a scratch schema in (default $TEST_DATABASE_URL, then $DATABASE_URL)")
	flag.Parse()
	if err := run(context.Background(), *name, *devURL); err != nil {
		fmt.Fprintln(os.Stderr, "migrategen:", err)
		os.Exit(1)
	}
}

// dialect is a database migrategen writes migrations for.
type dialect struct {
	dir  string // under migrationsDir
	open func(ctx context.Context) (db *store.DB, drop func() error, err error)
}

func run(ctx context.Context, name, devURL string) error {
	if !regexp.MustCompile(`^[a-z0-9_]+$`).MatchString(name) {
		return fmt.Errorf("-name %q: want snake_case, e.g. -name add_widget_color", name)
	}
	if devURL == "" {
		return errors.New("no PostgreSQL database to diff against: set -dev-url, TEST_DATABASE_URL or DATABASE_URL")
	}
	if _, err := os.Stat(migrationsDir); err != nil {
		return fmt.Errorf("%w (run migrategen from the module root)", err)
	}
	version, err := nextVersion()
	if err != nil {
		return err
	}
	dialects := []dialect{
		{dir: "sqlite", open: openSQLite},
		{dir: "postgres", open: func(ctx context.Context) (*store.DB, func() error, error) {
			return storetest.OpenSchema(ctx, devURL, "mg_")
		}},
	}
	// Diff every dialect before writing any file, so a failure writes nothing.
	diffs := make([]string, len(dialects))
	for i, d := range dialects {
		if diffs[i], err = diff(ctx, d); err != nil {
			return fmt.Errorf("%s: %w", d.dir, err)
		}
	}
	for i, d := range dialects {
		if diffs[i] == "" {
			fmt.Printf("%s: no changes\n", d.dir)
			continue
		}
		file := filepath.Join(migrationsDir, d.dir, fmt.Sprintf("%04d_%s.sql", version, name))
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(file, []byte(diffs[i]), 0o644); err != nil {
			return err
		}
		fmt.Printf("%s: wrote %s\n", d.dir, file)
	}
	return nil
}

// diff builds a scratch database of the dialect from the existing migrations
// and returns the statements that take it to the ent schema.
func diff(ctx context.Context, d dialect) (sql string, err error) {
	db, drop, err := d.open(ctx)
	if err != nil {
		return "", err
	}
	defer func() { err = errors.Join(err, drop()) }()
	// store embeds the files on disk: go run compiles it afresh.
	if err := db.Migrate(ctx); err != nil {
		return "", err
	}
	sql, err = db.SchemaDiff(ctx)
	if err != nil {
		return "", err
	}
	if d.dir == "postgres" {
		var schema string
		if err := db.SQL.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
			return "", fmt.Errorf("read current schema: %w", err)
		}
		if strings.Contains(sql, `"`+schema+`".`) {
			return "", fmt.Errorf("statements name the scratch schema %s; they would apply to it only", schema)
		}
	}
	return sql, nil
}

func openSQLite(ctx context.Context) (*store.DB, func() error, error) {
	dir, err := os.MkdirTemp("", "migrategen")
	if err != nil {
		return nil, nil, err
	}
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "dev.db"))
	if err != nil {
		return nil, nil, errors.Join(err, os.RemoveAll(dir))
	}
	return db, func() error { return errors.Join(db.Close(), os.RemoveAll(dir)) }, nil
}

// nextVersion returns one more than the highest version of any dialect, so
// that the files of one change share a version.
func nextVersion() (int, error) {
	leadingNumber := regexp.MustCompile(`^([0-9]+)_`)
	highest := 0
	for _, dir := range []string{"sqlite", "postgres"} {
		entries, err := os.ReadDir(filepath.Join(migrationsDir, dir))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, err
		}
		for _, e := range entries {
			if m := leadingNumber.FindStringSubmatch(e.Name()); m != nil {
				n, _ := strconv.Atoi(m[1])
				highest = max(highest, n)
			}
		}
	}
	return highest + 1, nil
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
