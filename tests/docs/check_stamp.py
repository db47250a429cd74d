# SPDX-License-Identifier: MIT
"""Check the version stamp at the head of doc/design.md.

usage: check_stamp.py SOURCE_DIR PROJECT_VERSION

doc/design.md must say "Design revision R, grb V (shared-memory layout
version L)." where V is the project's version (from CMake), L the value of
GRB_LAYOUT_VERSION in the code, and R the last design revision that
CHANGELOG.md lists ("**Revision R**").  Prints each mismatch; exit status
1 then.
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import docscan  # noqa: E402

STAMP = re.compile(r"^Design revision (\d+), grb (\S+) \(shared-memory layout version (\d+)\)\.",
                   re.M)
LAYOUT = re.compile(r"^\s*#\s*define\s+GRB_LAYOUT_VERSION\s+(\d+)u?\b", re.M)
REVISION = re.compile(r"\*\*Revision (\d+)\*\*")


def read(root, rel):
    with open(os.path.join(root, rel), encoding="utf-8") as f:
        return f.read()


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    root, version = argv[1], argv[2]
    m = STAMP.search(read(root, os.path.join("doc", "design.md")))
    if not m:
        print("doc/design.md: no line \"Design revision R, grb V (shared-memory layout "
              "version L).\"")
        return 1
    revision, stamp_version, stamp_layout = int(m.group(1)), m.group(2), int(m.group(3))

    layouts = set()
    for rel in docscan.c_files(root):
        layouts.update((int(v), rel) for v in LAYOUT.findall(read(root, rel)))
    revisions = [int(r) for r in REVISION.findall(read(root, "CHANGELOG.md"))]

    errors = []
    if stamp_version != version:
        errors.append("doc/design.md says grb %s; the project is version %s"
                      % (stamp_version, version))
    if not layouts:
        errors.append("no #define GRB_LAYOUT_VERSION in the code")
    elif {v for v, _ in layouts} != {stamp_layout}:
        errors.append("doc/design.md says layout version %d; the code defines %s"
                      % (stamp_layout, ", ".join("%d (%s)" % l for l in sorted(layouts))))
    if not revisions:
        errors.append("CHANGELOG.md lists no design revision (\"**Revision N**\")")
    elif max(revisions) != revision:
        errors.append("doc/design.md says design revision %d; CHANGELOG.md's last is %d"
                      % (revision, max(revisions)))
    if errors:
        print("\n".join(errors))
        return 1
    print("doc/design.md: design revision %d, grb %s, layout version %d: as the code, "
          "CMake and CHANGELOG.md say" % (revision, version, stamp_layout))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
