#!/usr/bin/env bash
# Refreshes the third-party browser files in web/static/ from the npm
# registry: `npm pack` each package into a temporary directory, copy its
# browser build and its licence, and print the tarballs' SHA-256 sums for
# web/README.md. Change a version here, run `bash web/vendor.sh`, delete the
# old files, and update the names in static/*.html, static/console.js,
# web_test.go and README.md (file names carry versions: browsers cache them
# for a year).
set -euo pipefail
cd "$(dirname "$0")/static"
static=$PWD

GRAPHIQL=3.9.0
REACT=18.3.1
GRAPHQL_WS=6.4.2
PREACT=10.28.0
HTM=3.1.1

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm pack --silent graphiql@$GRAPHIQL react@$REACT react-dom@$REACT \
  graphql-ws@$GRAPHQL_WS preact@$PREACT htm@$HTM >/dev/null
for tgz in *.tgz; do
  mkdir -p "${tgz%.tgz}" && tar xzf "$tgz" -C "${tgz%.tgz}"
done

# from to
copy() { cp "$1" "$static/$2"; }
copy graphiql-$GRAPHIQL/package/graphiql.min.js                    graphiql-$GRAPHIQL.min.js
copy graphiql-$GRAPHIQL/package/graphiql.min.css                   graphiql-$GRAPHIQL.min.css
copy graphiql-$GRAPHIQL/package/LICENSE                            LICENSE.graphiql.txt
copy react-$REACT/package/umd/react.production.min.js              react-$REACT.production.min.js
copy react-$REACT/package/LICENSE                                  LICENSE.react.txt
copy react-dom-$REACT/package/umd/react-dom.production.min.js      react-dom-$REACT.production.min.js
copy react-dom-$REACT/package/LICENSE                              LICENSE.react-dom.txt
copy graphql-ws-$GRAPHQL_WS/package/umd/graphql-ws.min.js          graphql-ws-$GRAPHQL_WS.min.js
copy graphql-ws-$GRAPHQL_WS/package/LICENSE.md                     LICENSE.graphql-ws.txt
copy preact-$PREACT/package/dist/preact.module.js                  preact-$PREACT.module.js
copy preact-$PREACT/package/hooks/dist/hooks.module.js             preact-hooks-$PREACT.module.js
copy preact-$PREACT/package/LICENSE                                LICENSE.preact.txt
copy htm-$HTM/package/dist/htm.module.js                           htm-$HTM.module.js
copy htm-$HTM/package/LICENSE                                      LICENSE.htm.txt

# The source map comments point at files that are not embedded.
for f in preact-$PREACT.module.js preact-hooks-$PREACT.module.js htm-$HTM.module.js; do
  sed -i '/^\/\/# sourceMappingURL=/d' "$static/$f"
done

# Preact's hooks import "preact" by its bare name; point them at the file
# beside them, so the console needs no import map.
sed -i "s#from\"preact\"#from\"./preact-$PREACT.module.js\"#" "$static/preact-hooks-$PREACT.module.js"

sha256sum *.tgz
