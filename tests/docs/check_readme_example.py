# SPDX-License-Identifier: MIT
"""Check that the README's example is, byte for byte, the file it names.

usage: check_readme_example.py SOURCE_DIR

The "## Example" section of README.md holds a ```c block followed by a
sentence "This is `PATH`, ..." naming the compiled example.  The block's
lines (each with its newline) must equal that file's bytes.  On a
difference it prints a unified diff (file -> README) and exits with 1.
"""

import difflib
import os
import re
import sys

HEADING = "## Example"


def example_section(lines):
    """The lines of the README's example section, without its heading."""
    for k, line in enumerate(lines):
        if line.rstrip("\n") == HEADING:
            end = k + 1
            while end < len(lines) and not lines[end].startswith("## "):
                end += 1
            return lines[k + 1:end]
    return None


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    root = argv[1]
    with open(os.path.join(root, "README.md"), encoding="utf-8", newline="") as f:
        lines = f.readlines()
    section = example_section(lines)
    if section is None:
        print("README.md: no %r section" % HEADING)
        return 1
    try:
        start = next(k for k, l in enumerate(section) if l.rstrip("\n") == "```c")
        end = next(k for k in range(start + 1, len(section))
                   if section[k].rstrip("\n") == "```")
    except StopIteration:
        print("README.md: the %r section has no complete ```c block" % HEADING)
        return 1
    block = section[start + 1:end]
    m = re.search(r"This is `([^`]+)`", "".join(section[end + 1:]))
    if not m:
        print("README.md: the %r section does not say which file its example is "
              "(\"This is `PATH`\" after the block)" % HEADING)
        return 1
    rel = m.group(1)
    path = os.path.join(root, rel)
    if not os.path.isfile(path):
        print("README.md: the example is said to be %s, which does not exist" % rel)
        return 1
    with open(path, encoding="utf-8", newline="") as f:
        source = f.read()
    if "".join(block).encode("utf-8") == source.encode("utf-8"):
        print("README.md's example is %s, %d lines, byte for byte" % (rel, len(block)))
        return 0
    print("README.md's example differs from %s (- file, + README):" % rel)
    sys.stdout.writelines(difflib.unified_diff(
        source.splitlines(keepends=True), block, rel, "README.md (%s)" % HEADING))
    if block and not block[-1].endswith("\n") or not source.endswith("\n"):
        print("(one of them does not end with a newline)")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
