// Command switchboard serves the Switchboard GraphQL API.
//
//	switchboard                 serve (configured from the environment; see README.md)
//	switchboard create-tenant   create a tenant and its first owner, then exit
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/switchboard-dev/switchboard/app"
	"github.com/switchboard-dev/switchboard/demo"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/tenant"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "switchboard:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	cfg, err := app.LoadConfig(os.Getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	logger := newLogger(cfg)
	slog.SetDefault(logger)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if len(args) > 0 && args[0] == "create-tenant" {
		return createTenant(ctx, cfg, args[1:])
	}
	if len(args) > 0 {
		return fmt.Errorf("unknown command %q (commands: create-tenant)", args[0])
	}
	return serve(ctx, cfg, logger, os.Stdout)
}

// serve builds the app and runs it until ctx ends; with the demo, it prints
// how to sign in on out.
func serve(ctx context.Context, cfg app.Config, logger *slog.Logger, out io.Writer) error {
	a, err := app.New(ctx, cfg, app.WithLogger(logger))
	if err != nil {
		return err
	}
	defer a.Close()
	if a.DemoLogin != nil {
		printLogin(out, cfg, a.DemoLogin)
	}
	return a.Run(ctx)
}

func createTenant(ctx context.Context, cfg app.Config, args []string) error {
	fs := flag.NewFlagSet("create-tenant", flag.ContinueOnError)
	var in tenant.Input
	fs.StringVar(&in.Name, "name", "", "company name (required)")
	fs.StringVar(&in.Slug, "slug", "", "short unique name, lowercase letters, digits and dashes (required)")
	fs.StringVar(&in.Timezone, "timezone", "UTC", "IANA time zone, e.g. Europe/Paris")
	fs.StringVar(&in.OwnerName, "owner-name", "", "the first owner's name (required)")
	fs.StringVar(&in.OwnerEmail, "owner-email", "", "the first owner's email (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	in.OwnerPassword = os.Getenv("SWITCHBOARD_OWNER_PASSWORD")
	if in.Name == "" || in.Slug == "" || in.OwnerName == "" || in.OwnerEmail == "" || in.OwnerPassword == "" {
		fs.Usage()
		return errors.New("name, slug, owner-name, owner-email and SWITCHBOARD_OWNER_PASSWORD (in the environment, not on the command line) are required")
	}
	db, err := app.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	// Under the start-up writes' lock: an instance starting now seeds the
	// demo only into a database without tenants, and must see this one.
	var t *ent.Tenant
	var owner *ent.Agent
	err = db.Exclusive(ctx, func(ctx context.Context) error {
		t, owner, err = tenant.Create(ctx, db.Client, in)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Printf("created tenant %s (%s) with owner %s <%s>\n", t.Slug, t.ID, owner.Name, owner.Email)
	return nil
}

func newLogger(cfg app.Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

func printLogin(out io.Writer, cfg app.Config, l *demo.Login) {
	fmt.Fprintf(out, `
  Switchboard is running with a demo tenant (%s).

    GraphiQL   %s/
    API        %s/graphql
    Console    %s/console
    Sign in    email %s   password %s

  In GraphiQL run:
    mutation { login(email: %q, password: %q) { accessToken } }
  then set the header  {"Authorization": "Bearer <accessToken>"}  and query:
    { conversations(first: 10) { totalCount edges { node { id status contact { profileName } lastMessage { body } } } } }

`, l.Tenant, cfg.BaseURL(), cfg.BaseURL(), cfg.BaseURL(), l.Email, l.Password, l.Email, l.Password)
}
