#!/usr/bin/env sh
# Runs `alknet-graphs demo` on a scratch store and renders its pictures to
# SVG with graphviz: docs/demo-acl.svg (the delegation graph) and
# docs/demo-tasks.svg (the release taskgraph, coloured by status).
#
# Usage: scripts/render-demo.sh
#   ALKNET_GRAPHS_BIN=path/to/alknet-graphs  use this binary instead of
#                                            building the release one
# Needs graphviz (`apt-get install graphviz`).
set -eu

cd "$(dirname "$0")/.."

if ! command -v dot >/dev/null 2>&1; then
    echo "render-demo.sh: graphviz 'dot' is not installed (apt-get install graphviz)" >&2
    exit 1
fi

if [ -n "${ALKNET_GRAPHS_BIN:-}" ]; then
    bin=$ALKNET_GRAPHS_BIN
else
    cargo build --release --quiet
    bin=target/release/alknet-graphs
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$bin" --db "$work/demo.db" demo --out "$work/out"

mkdir -p docs
dot -Tsvg "$work/out/acl.dot" -o docs/demo-acl.svg
dot -Tsvg "$work/out/tasks.dot" -o docs/demo-tasks.svg
echo
echo "rendered docs/demo-acl.svg and docs/demo-tasks.svg"
