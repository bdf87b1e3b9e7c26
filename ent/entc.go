//go:build ignore

// entc.go generates the ent client, the entgql GraphQL glue and
// graph/schema/ent.graphqls from ent/schema. Run it through `make generate`.
package main

import (
	"log"

	"entgo.io/contrib/entgql"
	"entgo.io/ent/entc"
	"entgo.io/ent/entc/gen"
)

func main() {
	ex, err := entgql.NewExtension(
		entgql.WithSchemaGenerator(),
		entgql.WithSchemaPath("graph/schema/ent.graphqls"),
		entgql.WithConfigPath("gqlgen.yml"),
		entgql.WithWhereInputs(true),
		entgql.WithRelaySpec(true),
	)
	if err != nil {
		log.Fatalf("entgql extension: %v", err)
	}
	cfg := &gen.Config{
		Features: []gen.Feature{
			gen.FeaturePrivacy,
			gen.FeatureIntercept,
			gen.FeatureVersionedMigration,
			gen.FeatureUpsert,
			gen.FeatureLock,
			gen.FeatureModifier,
			gen.FeatureExecQuery, // raw SQL beside ent in a transaction: the report facts (package report)
		},
		Templates: []*gen.Template{
			gen.MustParse(gen.NewTemplate("ident").ParseFiles("ent/template/ident.tmpl")),
			gen.MustParse(gen.NewTemplate("sqltx").ParseFiles("ent/template/sqltx.tmpl")),
		},
	}
	if err := entc.Generate("./ent/schema", cfg, entc.Extensions(ex)); err != nil {
		log.Fatalf("entc: %v", err)
	}
}
