#!/usr/bin/env bash
# `make docs`: the DocC documentation of every public module, as one static site in docs-site/
# (serve it with `python3 -m http.server -d docs-site 8000`, then open
# http://localhost:8000/documentation/courier). Fails on any DocC warning (an unresolved
# ``Symbol`` or <doc:Article> link, a bad Topics entry), on a public symbol without a doc
# comment, and on a ```swift snippet in an article that no longer compiles.
#
# Why not swift-docc-plugin: the plugin would be a dependency of Courier's Package.swift, so
# every app depending on Courier would resolve and fetch it (and SymbolKit) for nothing, and
# each clean CI run would build SymbolKit and the plugin's snippet tool before any page. The
# plugin's own steps are few and are done here directly: symbol graphs from the debug build
# `make test` has just made (`swift package dump-symbol-graph`), `docc convert` per module,
# `docc merge` into one site. Modules link to each other's symbols and articles
# (``/CourierChannel/ChannelService``, <doc:/CourierChannel/TheChannelAPI>), which DocC resolves
# against already built archives (`--dependency`); as the links go both ways, every module is
# converted twice: once to have archives to link against, then again, with all the others as
# dependencies, and only that second pass must be free of warnings.
#
# Builds take the shared build lock unless COURIER_BUILD_LOCK is set empty, as `make test`
# does (whoever runs `make test` holds the lock already).
set -euo pipefail
cd "$(dirname "$0")/.."

MODULES=(Courier CourierChannel CourierRedis CourierTesting CourierServer CourierHTTP CourierLoop)
SITE=${DOCS_SITE:-docs-site}
lock=${COURIER_BUILD_LOCK-/tmp/courier-swift-build.lock}
locked() { if [ -n "$lock" ] && command -v flock >/dev/null; then flock "$lock" "$@"; else "$@"; fi; }
docc=$(command -v docc || true)
[ -n "$docc" ] || docc="$(dirname "$(readlink -f "$(command -v swift)")")/docc"
[ -x "$docc" ] || { echo "docs: no docc next to swift ($docc)" >&2; exit 1; }

work=$(mktemp -d /tmp/courier-docs.XXXXXX)
trap 'rm -rf "$work"' EXIT
started=$SECONDS

# 1. Symbol graphs of the public API (builds what is not built yet). It also tries the test
# modules, and fails when they are not built (`make docs` alone does not build tests), so what
# counts is that each documented module's graph was written now.
# DOCS_REUSE_GRAPHS=1 skips this and reuses the last graphs: for rewording articles quickly.
touch "$work/started"
if [ "${DOCS_REUSE_GRAPHS:-}" = 1 ]; then
    graphs=$(ls -d .build/*/symbolgraph 2>/dev/null | head -n 1 || true)
    touch -d '1970-01-02' "$work/started"
else
    locked swift package dump-symbol-graph --minimum-access-level public --skip-synthesized-members \
        --emit-extension-block-symbols >"$work/dump.log" 2>&1 || true
    graphs=$(sed -n 's/^Files written to //p' "$work/dump.log" | tail -n 1)
fi
echo "docs: symbol graphs in $((SECONDS - started)) s"
for module in "${MODULES[@]}"; do
    if [ -z "$graphs" ] || [ ! "$graphs/$module.symbols.json" -nt "$work/started" ]; then
        cat "$work/dump.log" >&2
        echo "docs: no symbol graph for $module (the build failed?)" >&2
        exit 1
    fi
    mkdir -p "$work/graphs/$module"
    cp "$graphs/$module.symbols.json" "$work/graphs/$module/"
    cp "$graphs/$module"@*.symbols.json "$work/graphs/$module/" 2>/dev/null || true
done

# 2. Every public symbol has a doc comment (its own, or the one of the protocol requirement it
# implements, which DocC shows with --enable-inherited-docs).
python3 scripts/check_doc_coverage.py "$work/graphs"

# 3. Every Swift snippet in the articles compiles against the API as it is.
catalogs=()
for module in "${MODULES[@]}"; do catalogs+=("Sources/$module/$module.docc"); done
python3 scripts/check_doc_snippets.py .build/debug "${catalogs[@]}"

convert() {  # convert PASS MODULE [docc options...]
    local pass=$1 module=$2
    shift 2
    "$docc" convert "Sources/$module/$module.docc" --additional-symbol-graph-dir "$work/graphs/$module" \
        --output-path "$work/$pass/$module.doccarchive" --fallback-bundle-identifier "$module" \
        --fallback-display-name "$module" --enable-experimental-external-link-support \
        --enable-inherited-docs "$@"
}

# 4. Pass one: archives to link against (their warnings are about links not yet resolvable).
mkdir -p "$work/one" "$work/two"
for module in "${MODULES[@]}"; do
    convert one "$module" --diagnostic-level error >/dev/null 2>&1 &
done
wait

# 5. Pass two: each module against all the others; any warning fails.
status=0
for module in "${MODULES[@]}"; do
    dependencies=()
    for other in "${MODULES[@]}"; do
        [ "$other" = "$module" ] || dependencies+=(--dependency "$work/one/$other.doccarchive")
    done
    if ! convert two "$module" "${dependencies[@]}" --warnings-as-errors >"$work/$module.log" 2>&1 \
        || grep -qE '(warning|error):' "$work/$module.log"; then
        echo "docs: $module:" >&2
        grep -E -A6 '(warning|error):' "$work/$module.log" >&2 || cat "$work/$module.log" >&2
        status=1
    fi
done
[ "$status" -eq 0 ] || { echo "docs: DocC reported problems (above)" >&2; exit 1; }

# 6. One site.
rm -rf "$SITE"
"$docc" merge $(printf "$work/two/%s.doccarchive " "${MODULES[@]}") --output-path "$work/site" --synthesized-landing-page-name Courier \
    --synthesized-landing-page-kind Framework >"$work/merge.log" 2>&1 || { cat "$work/merge.log" >&2; exit 1; }
mv "$work/site" "$SITE"
echo "docs: ${#MODULES[@]} modules in $SITE/ in $((SECONDS - started)) s, no warnings;" \
    "python3 -m http.server -d $SITE 8000, then http://localhost:8000/documentation/courier"
