# SPDX-License-Identifier: MIT
"""Check that doc/ordering.md's label table and the code agree.

usage: check_labels.py SOURCE_DIR

Every ordering label ([W1], [C2], [R3], ...) in a comment of a .c or .h
file of the library, its clients, tools and examples (every one outside
tests/, bench/ and build trees) must be a row of the label table of
doc/ordering.md, and every row must name a label that occurs in the code.
Each function the row's "function" column names (outside parentheses,
which hold remarks) must be defined in the code and carry the label in a
comment of its body.  Labels that doc/*.md or README.md mention must be
rows of the table.  Prints what is missing where; exit status 1 then.
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import docscan  # noqa: E402

LABEL = re.compile(r"\[([A-Z][0-9]+)\]")
ROW = re.compile(r"^\|\s*\[([A-Z][0-9]+)\]\s*\|([^|]*)\|")
NAME = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)`")
ORDERING = os.path.join("doc", "ordering.md")


def label_key(label):
    return (label[0], int(label[1:]))


def table_rows(path):
    """{label: (line, [function names])} of the label table, and the
    labels listed more than once."""
    rows, dups = {}, []
    with open(path, encoding="utf-8") as f:
        for no, text in enumerate(f, 1):
            m = ROW.match(text)
            if not m:
                continue
            label, where = m.group(1), m.group(2)
            while True:
                stripped = re.sub(r"\([^()]*\)", "", where)
                if stripped == where:
                    break
                where = stripped
            if label in rows:
                dups.append((label, no))
                continue
            rows[label] = (no, NAME.findall(where))
    return rows, dups


def doc_mentions(root):
    """{label: [path:line]} of the labels the documents mention."""
    found = {}
    paths = [os.path.join("doc", f) for f in sorted(os.listdir(os.path.join(root, "doc")))
             if f.endswith(".md")]
    paths.append("README.md")
    for rel in paths:
        full = os.path.join(root, rel)
        if not os.path.exists(full):
            continue
        with open(full, encoding="utf-8") as f:
            for no, text in enumerate(f, 1):
                for label in LABEL.findall(text):
                    found.setdefault(label, []).append("%s:%d" % (rel, no))
    return found


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    root = argv[1]
    table_path = os.path.join(root, ORDERING)
    rows, dups = table_rows(table_path)
    if not rows:
        print("%s: no label table found (rows starting with | [X1] |)" % ORDERING)
        return 1

    code = {}  # label -> ["path:line", ...]
    bodies = {}  # function -> [[comments of one definition], ...]
    files = docscan.c_files(root)
    for rel in files:
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
            text = f.read()
        fns, comments = docscan.functions(text)
        for name, defs in fns.items():
            bodies.setdefault(name, []).extend(defs)
        for body, line in comments:
            for k, part in enumerate(body.split("\n")):
                for label in LABEL.findall(part):
                    code.setdefault(label, []).append("%s:%d" % (rel, line + k))

    failures = 0
    only_code = sorted(set(code) - set(rows), key=label_key)
    if only_code:
        failures += 1
        print("labels in the code but not in %s's label table:" % ORDERING)
        for label in only_code:
            print("  [%s]  %s" % (label, ", ".join(code[label])))
    only_doc = sorted(set(rows) - set(code), key=label_key)
    if only_doc:
        failures += 1
        print("labels in %s's label table but not in the code:" % ORDERING)
        for label in only_doc:
            print("  [%s]  %s:%d" % (label, ORDERING, rows[label][0]))
    if dups:
        failures += 1
        print("labels listed twice in %s's label table:" % ORDERING)
        for label, no in dups:
            print("  [%s]  %s:%d (first at line %d)" % (label, ORDERING, no, rows[label][0]))

    misplaced = []
    for label in sorted(rows, key=label_key):
        no, names = rows[label]
        if not names:
            misplaced.append("  [%s]  %s:%d names no function" % (label, ORDERING, no))
        for name in names:
            defs = bodies.get(name)
            if not defs:
                misplaced.append("  [%s]  %s:%d: no function %s is defined in the code"
                                 % (label, ORDERING, no, name))
            elif not any("[%s]" % label in c for d in defs for c in d):
                misplaced.append("  [%s]  %s:%d: %s has no comment with [%s]"
                                 % (label, ORDERING, no, name, label))
    if misplaced:
        failures += 1
        print("functions of %s's label table that do not carry the label:" % ORDERING)
        print("\n".join(misplaced))

    unknown = {l: w for l, w in doc_mentions(root).items() if l not in rows}
    if unknown:
        failures += 1
        print("labels the documents mention but %s's label table does not list:" % ORDERING)
        for label in sorted(unknown, key=label_key):
            print("  [%s]  %s" % (label, ", ".join(unknown[label])))

    if failures:
        return 1
    print("%d labels: the same set in the code (%d uses in %d C files) and in %s's table;"
          % (len(rows), sum(len(v) for v in code.values()), len(files), ORDERING))
    print("each of the table's %d function names carries its label"
          % sum(len(n) for _, n in rows.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
