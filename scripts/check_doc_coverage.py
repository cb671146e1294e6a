#!/usr/bin/env python3
"""Every public symbol has a doc comment: reads the symbol graphs `swift package
dump-symbol-graph` wrote (one folder per module, as scripts/docs.sh lays them out) and lists
the symbols without one. A symbol that implements a protocol requirement and says nothing of
its own carries the requirement's comment in the graph, and counts as documented, as DocC
shows it. Extension blocks (`extension Application` in another module) are not symbols of
their own to document.

Usage: check_doc_coverage.py GRAPHS_FOLDER
"""

import json
import pathlib
import sys


def main():
    folder = pathlib.Path(sys.argv[1])
    missing, total = [], 0
    for graph in sorted(folder.rglob("*.symbols.json")):
        module = graph.parent.name
        for symbol in json.loads(graph.read_text())["symbols"]:
            if symbol["kind"]["identifier"] == "swift.extension":
                continue
            total += 1
            lines = (symbol.get("docComment") or {}).get("lines") or []
            if not any(line["text"].strip() for line in lines):
                location = symbol.get("location", {})
                where = location.get("uri", "").replace("file://", "")
                line = location.get("position", {}).get("line", -1) + 1
                missing.append(f"{where}:{line}: {module}.{'.'.join(symbol['pathComponents'])} "
                               f"({symbol['kind']['displayName'].lower()}) has no doc comment")
    for entry in missing:
        print(f"docs: {entry}", file=sys.stderr)
    print(f"docs: {total - len(missing)} of {total} public symbols documented")
    sys.exit(1 if missing else 0)


if __name__ == "__main__":
    main()
