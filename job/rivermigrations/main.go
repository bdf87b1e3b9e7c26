// Command rivermigrations writes River's schema as the next project migration
// of each dialect, so that store.Migrate applies it like any other file:
//
//	go run ./job/rivermigrations -out store/migrations -version 0003 -name river
//
// writes store/migrations/postgres/0003_river.sql and
// store/migrations/sqlite/0003_river.sql. After upgrading River, pass the
// last River version already in store/migrations as -after to write only the
// new ones. It never overwrites a file.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"

	"entgo.io/ent/dialect"

	"github.com/switchboard-dev/switchboard/job"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "rivermigrations:", err)
		os.Exit(1)
	}
}

// dirs names the directory of each dialect under store/migrations.
var dirs = map[string]string{
	dialect.Postgres: "postgres",
	dialect.SQLite:   "sqlite",
}

// Formats store.Migrate accepts in a file name NNNN_name.sql.
var (
	versionFormat = regexp.MustCompile(`^[0-9]{4,}$`)
	nameFormat    = regexp.MustCompile(`^[a-z0-9_]+$`)
)

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("rivermigrations", flag.ContinueOnError)
	fs.SetOutput(stdout)
	out := fs.String("out", "store/migrations", "directory holding one directory of migrations per dialect")
	version := fs.String("version", "", "version of the new migration files, e.g. 0003")
	name := fs.String("name", "river", "name of the new migration files")
	after := fs.Int("after", 0, "last River migration version store/migrations already applies")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case !versionFormat.MatchString(*version):
		return fmt.Errorf("-version %q: want four or more digits, e.g. 0003", *version)
	case !nameFormat.MatchString(*name):
		return fmt.Errorf("-name %q: want lower case letters, digits and underscores", *name)
	}
	type file struct{ path, content string }
	var files []file
	for _, d := range []string{dialect.Postgres, dialect.SQLite} {
		sql, err := job.MigrationSQL(d, *after)
		if err != nil {
			return err
		}
		dir := filepath.Join(*out, dirs[d])
		taken, err := filepath.Glob(filepath.Join(dir, *version+"_*.sql"))
		if err != nil {
			return err
		}
		if len(taken) > 0 {
			return fmt.Errorf("%s has version %s; pick the next free -version", taken[0], *version)
		}
		files = append(files, file{filepath.Join(dir, *version+"_"+*name+".sql"), header() + sql})
	}
	for _, f := range files {
		if err := writeNew(f.path, f.content); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "wrote", f.path)
	}
	return nil
}

// header says where a file comes from, River's version included so that an
// upgrade knows where to start.
func header() string {
	version := "(unknown version)"
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "github.com/riverqueue/river" {
				version = dep.Version
			}
		}
	}
	return "-- River's job queue schema, River " + version + ".\n" +
		"-- Written by go run ./job/rivermigrations; see package job.\n\n"
}

// writeNew writes a file that must not exist yet: a migration databases have
// applied is never rewritten.
func writeNew(path, content string) (err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	_, err = f.WriteString(content)
	return err
}
