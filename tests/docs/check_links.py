# SPDX-License-Identifier: MIT
"""Check the relative links of the repository's Markdown files.

usage: check_links.py SOURCE_DIR

In every .md file outside hidden directories and build trees, each link
that is not a URL must name an existing file or directory, and its
#anchor, if any, must be a heading of the Markdown file it points to
(GitHub's anchors: lower case, punctuation dropped, spaces to hyphens, -1,
-2... for repeats).  Code blocks and code spans are not read.  Prints each
broken link with its place; exit status 1 then.
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import docscan  # noqa: E402

INLINE = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFDEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
FENCE = re.compile(r"^\s{0,3}(```|~~~)")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")


def text_lines(path):
    """(line number, text) of the lines outside fenced code blocks, with
    code spans blanked."""
    out, fence = [], None
    with open(path, encoding="utf-8") as f:
        for no, line in enumerate(f, 1):
            m = FENCE.match(line)
            if m:
                if fence is None:
                    fence = m.group(1)
                elif m.group(1) == fence:
                    fence = None
                continue
            if fence is None:
                out.append((no, re.sub(r"`+[^`]*`+", "``", line.rstrip("\n"))))
    return out


def slug(heading):
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = "".join(c for c in text.lower() if c.isalnum() or c in " -_")
    return text.replace(" ", "-")


def anchors(path, cache={}):
    if path not in cache:
        seen, found = {}, set()
        fence = None
        with open(path, encoding="utf-8") as f:
            for line in f:
                m = FENCE.match(line)
                if m:
                    if fence is None:
                        fence = m.group(1)
                    elif m.group(1) == fence:
                        fence = None
                    continue
                m = HEADING.match(line) if fence is None else None
                if not m:
                    continue
                s = slug(m.group(2))
                n = seen.get(s, 0)
                seen[s] = n + 1
                found.add(s if n == 0 else "%s-%d" % (s, n))
        cache[path] = found
    return cache[path]


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    root = os.path.abspath(argv[1])
    files = docscan.walk(root, (".md",))
    broken, checked = [], 0
    for rel in files:
        full = os.path.join(root, rel)
        for no, line in text_lines(full):
            targets = INLINE.findall(line)
            m = REFDEF.match(line)
            if m:
                targets.append(m.group(1))
            for target in targets:
                if SCHEME.match(target):
                    continue
                checked += 1
                where, _, anchor = target.partition("#")
                dest = full if not where else os.path.normpath(
                    os.path.join(os.path.dirname(full), where))
                if not os.path.exists(dest):
                    broken.append("%s:%d: %s: no such file" % (rel, no, target))
                    continue
                if not anchor:
                    continue
                if not dest.endswith(".md") or os.path.isdir(dest):
                    broken.append("%s:%d: %s: an anchor into a file that is not Markdown"
                                  % (rel, no, target))
                elif anchor not in anchors(dest):
                    broken.append("%s:%d: %s: no heading with anchor #%s in %s"
                                  % (rel, no, target, anchor, os.path.relpath(dest, root)))
    if broken:
        print("broken links:")
        print("\n".join("  " + b for b in broken))
        return 1
    print("%d relative links in %d Markdown files lead to existing files and headings"
          % (checked, len(files)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
