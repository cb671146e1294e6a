#!/usr/bin/env python3
"""Type-checks every ```swift block of the DocC catalogs against the modules of a debug build,
each block on its own as the `main.swift` of an app that imports what it imports: what a reader
who copies it gets. Any error or warning fails. A block that is a package manifest
(`// swift-tools-version`) is skipped.

Usage: check_doc_snippets.py BUILD_DIR CATALOG...   (BUILD_DIR: .build/debug)
"""

import concurrent.futures
import functools
import os
import pathlib
import re
import subprocess
import sys
import tempfile

BLOCK = re.compile(r"^```swift[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
ROOT = pathlib.Path(__file__).resolve().parent.parent


def blocks(catalogs):
    for catalog in catalogs:
        for path in sorted(pathlib.Path(catalog).rglob("*.md")):
            text = path.read_text()
            for match in BLOCK.finditer(text):
                code = match.group(1)
                if code.lstrip().startswith("// swift-tools-version"):
                    continue
                line = text.count("\n", 0, match.start(1)) + 1
                yield path, line, code


# The modules a snippet may import; the C modules they import in turn (libuv's, zlib's, hiredis's,
# and whatever a dependency brings, such as swift-atomics' shims) are found as SwiftPM found them.
IMPORTABLE = ("Courier", "CourierChannel", "CourierRedis", "CourierTesting")


@functools.cache
def c_module_maps(build):
    """The -fmodule-map-file paths SwiftPM gave the compiler for the importable modules, read
    from the build's own description (debug.yaml beside the build folder), so a C module a new
    dependency brings is found without a list kept here."""
    folder = pathlib.Path(build).resolve()
    while not (folder / "debug.yaml").exists():
        if folder.parent == folder:
            sys.exit(f"error: no debug.yaml above {build}: build the package first")
        folder = folder.parent
    maps = []
    for line in (folder / "debug.yaml").read_text().splitlines():
        if not line.lstrip().startswith("args:") or '"-module-name"' not in line:
            continue
        if not any(f'"-module-name","{name}"' in line for name in IMPORTABLE):
            continue
        for found in re.findall(r'"-fmodule-map-file=([^"]+)"', line):
            if found not in maps:
                maps.append(found)
    return tuple(maps)


def check(build, folder, index, path, line, code):
    source = pathlib.Path(folder) / f"snippet{index}" / "main.swift"
    source.parent.mkdir()
    source.write_text(code)
    command = ["swiftc", "-typecheck", "-swift-version", "6", "-warnings-as-errors",
               "-module-name", f"Snippet{index}", "-I", str(pathlib.Path(build) / "Modules")]
    for module_map in c_module_maps(build):
        command += ["-Xcc", f"-fmodule-map-file={module_map}"]
    result = subprocess.run(command + [str(source)], capture_output=True, text=True)
    if result.returncode == 0:
        return None
    where = f"{os.path.relpath(path, ROOT)}:{line}"
    # Point the compiler's line numbers at the article's.
    output = re.sub(rf"{re.escape(str(source))}:(\d+)",
                    lambda m: f"{os.path.relpath(path, ROOT)}:{line + int(m.group(1)) - 1}",
                    result.stdout + result.stderr)
    return f"error: the snippet at {where} does not compile:\n{output}"


def main():
    build, catalogs = sys.argv[1], sys.argv[2:]
    snippets = list(blocks(catalogs))
    with tempfile.TemporaryDirectory(prefix="courier-snippets.") as folder, \
            concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        failures = [f for f in pool.map(lambda item: check(build, folder, *item),
                                         [(i, *s) for i, s in enumerate(snippets)]) if f]
    for failure in failures:
        print(failure, file=sys.stderr)
    print(f"snippets: {len(snippets) - len(failures)} of {len(snippets)} compile")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
