#!/usr/bin/env bash
# Measures `alknet-graphs import` and `export` on a Debian-sized document
# (68,467 nodes / 283,161 edges, ~70 MB) and a 100k-node / 500k-edge one:
# wall time and peak RSS (GNU time's maximum resident set size), beside a
# bare Python sqlite3 insert of the same rows in the same run.
#
#   scripts/import-harness.sh [WORKDIR]
#
# BEFORE_BIN=/path/to/an/older/alknet-graphs also measures that binary's
# import and export of the same documents, for a before/after comparison.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d)}"
mkdir -p "$work"
cd "$root"
cargo build --release --quiet --bin alknet-graphs --example import_harness
bin="$root/target/release/alknet-graphs"
gen="$root/target/release/examples/import_harness"

measure() { # label command...
    local label="$1"; shift
    local stats="$work/time.txt"
    /usr/bin/time -f '%e %M' -o "$stats" "$@" > /dev/null
    read -r wall rss < "$stats"
    printf '%-44s %8.2f s %8.1f MB\n' "$label" "$wall" "$(echo "$rss / 1024" | bc -l)"
}

# The baseline: the same rows, inserted by Python's sqlite3 into tables of
# the same shape (unique keys, adjacency indexes), in one transaction.
cat > "$work/python_insert.py" <<'PY'
import json, sqlite3, sys
doc = json.load(open(sys.argv[1]))
db = sqlite3.connect(sys.argv[2], isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=NORMAL")
db.executescript("""
CREATE TABLE nodes (id INTEGER PRIMARY KEY, graph_id INTEGER NOT NULL, key TEXT NOT NULL,
    attributes TEXT NOT NULL, UNIQUE (graph_id, key));
CREATE TABLE edges (id INTEGER PRIMARY KEY, graph_id INTEGER NOT NULL, key TEXT NOT NULL,
    source INTEGER NOT NULL, target INTEGER NOT NULL, attributes TEXT NOT NULL,
    UNIQUE (graph_id, key));
CREATE INDEX edges_out ON edges (source, target);
CREATE INDEX edges_in ON edges (target, source);
""")
db.execute("BEGIN")
ids = {}
for n in doc["nodes"]:
    cur = db.execute("INSERT INTO nodes (graph_id, key, attributes) VALUES (1, ?, ?)",
                     (n["key"], json.dumps(n.get("attributes", {}))))
    ids[n["key"]] = cur.lastrowid
db.executemany("INSERT INTO edges (graph_id, key, source, target, attributes) VALUES (1, ?, ?, ?, ?)",
               ((e["key"], ids[e["source"]], ids[e["target"]], json.dumps(e.get("attributes", {})))
                for e in doc["edges"]))
db.execute("COMMIT")
PY

for doc in debian large; do
    file="$work/$doc.json"
    [ -s "$file" ] || "$gen" "$doc" "$file"
    size=$(stat -c %s "$file")
    echo "== $doc: $(printf '%.1f' "$(echo "$size / 1048576" | bc -l)") MB"
    rm -f "$work/py.db"*
    measure "python sqlite3 insert (baseline)" python3 "$work/python_insert.py" "$file" "$work/py.db"
    for which in after before; do
        if [ "$which" = before ]; then
            [ -n "${BEFORE_BIN:-}" ] || continue
            run="$BEFORE_BIN"
        else
            run="$bin"
        fi
        db="$work/$doc-$which.db"
        rm -f "$db"*
        "$run" --db "$db" init > /dev/null
        if [ "$which" = before ]; then
            # The older binary has no --define-type: define the type first.
            cat > "$work/type.json" <<JSON
{"name": "$doc", "config": {"kind": "mixed", "multi": true, "allow_self_loops": true, "acyclic": false},
 "node_types": [{"name": "node", "schema": {}}], "edge_types": [{"name": "edge", "schema": {}}]}
JSON
            "$run" --db "$db" type define "$work/type.json" > /dev/null
            # ... and refuses graph attributes other than the name.
            python3 -c "
import json,sys
d=json.load(open(sys.argv[1])); d['attributes']={'name':d['attributes']['name'],'@graphType':sys.argv[2]}
json.dump(d,open(sys.argv[3],'w'))" "$file" "$doc" "$work/$doc-before.json"
            measure "$which: alknet-graphs import" "$run" --db "$db" import "$work/$doc-before.json"
        else
            measure "$which: alknet-graphs import" "$run" --db "$db" import --define-type "$doc" "$file"
        fi
        measure "$which: alknet-graphs export" "$run" --db "$db" export --graph "$doc" --out "$work/$doc-$which-out.json"
    done
done
