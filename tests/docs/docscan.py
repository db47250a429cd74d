# SPDX-License-Identifier: MIT
"""What the documentation checks share: walking the source tree and
reading the comments and function bodies of C files.  Standard library
only."""

import os
import re

# Top-level directories that hold no library code: the tests (whose
# comments may name labels to say what they exercise) and the benchmarks.
EXCLUDED_TOP = {"tests", "bench"}


def is_build_dir(path):
    """A CMake build directory, wherever it was configured, or the output
    directory of kernel/Makefile (a link to kernel/Kbuild beside links to
    the sources)."""
    return os.path.exists(os.path.join(path, "CMakeCache.txt")) or os.path.islink(
        os.path.join(path, "Kbuild"))


def walk(root, suffixes, exclude_top=()):
    """Paths (relative to root, sorted) of the files under root whose
    names end with one of suffixes, skipping hidden directories, build
    directories and the top-level directories in exclude_top."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        keep = []
        for d in dirnames:
            full = os.path.join(dirpath, d)
            if d.startswith(".") or d == "CMakeFiles" or is_build_dir(full):
                continue
            if rel == "." and d in exclude_top:
                continue
            keep.append(d)
        dirnames[:] = sorted(keep)
        for f in filenames:
            if f.endswith(tuple(suffixes)):
                found.append(os.path.normpath(os.path.join(rel, f)))
    return sorted(found)


def c_files(root):
    """The C sources and headers of the library, its clients, tools and
    examples: every .c and .h outside tests/, bench/ and build trees."""
    return walk(root, (".c", ".h"), EXCLUDED_TOP)


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def tokens(text):
    """Yield (kind, value, line) for a C source: kind is "comment",
    "ident" or "punct".  String and character literals and numbers are
    skipped; preprocessor directives yield only their comments."""
    i, n, line = 0, len(text), 1
    directive = False  # inside a #-line (continued by backslash-newline)
    at_line_start = True
    while i < n:
        c = text[i]
        if c == "\n":
            if not (i > 0 and text[i - 1] == "\\"):
                directive = False
            line += 1
            at_line_start = True
            i += 1
            continue
        if c in " \t\r\f\v":
            i += 1
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            body = text[i:end]
            yield ("comment", body, line)
            line += body.count("\n")
            i = end
            continue
        if text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            yield ("comment", text[i:end], line)
            i = end
            continue
        if c == "#" and at_line_start:
            directive = True
        at_line_start = False
        if c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                if text[j] == "\\":
                    j += 1
                elif text[j] == "\n":
                    break
                j += 1
            line += text[i:j].count("\n")
            i = j + 1
            continue
        m = _IDENT.match(text, i)
        if m:
            if not directive:
                yield ("ident", m.group(), line)
            i = m.end()
            continue
        if c.isdigit():
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] in "._"):
                j += 1
            i = j
            continue
        if not directive:
            yield ("punct", c, line)
        i += 1


def _function_name(recent):
    """The name of the function whose body opens after the top-level
    tokens in recent, or None when the brace opens something else."""
    toks = list(recent)
    while toks:
        if toks[-1] != ")":
            return None
        depth, k = 0, len(toks) - 1
        while k >= 0:
            if toks[k] == ")":
                depth += 1
            elif toks[k] == "(":
                depth -= 1
                if depth == 0:
                    break
            k -= 1
        if k <= 0:
            return None
        name = toks[k - 1]
        if name == "__attribute__":
            # ") __attribute__((...))" before the body: skip it.
            toks = toks[: k - 1]
            continue
        if _IDENT.fullmatch(name) and name not in ("if", "while", "for", "switch"):
            return name
        return None
    return None


def functions(text):
    """{name: [comment texts inside each body]} for the functions a C
    file defines, and the list of (comment, line) of the whole file."""
    result = {}
    comments = []
    stack = []  # per open brace: "extern" (transparent), "fn" or "block"
    depth = 0  # braces open, "extern" ones left out
    recent = []  # top-level tokens since the last ; or }
    current = None
    for kind, value, line in tokens(text):
        if kind == "comment":
            comments.append((value, line))
            if current is not None:
                result[current][-1].append(value)
            continue
        if value == "{":
            if depth == 0 and recent[-1:] == ["extern"]:
                stack.append("extern")
                recent = []
                continue
            if depth == 0:
                name = _function_name(recent)
                if name is not None:
                    current = name
                    result.setdefault(name, []).append([])
                    stack.append("fn")
                else:
                    stack.append("block")
            else:
                stack.append("block")
            depth += 1
            continue
        if value == "}":
            if not stack:
                continue
            what = stack.pop()
            if what == "extern":
                recent = []
                continue
            depth -= 1
            if depth == 0:
                if what == "fn":
                    current = None
                recent = []
            continue
        if depth == 0:
            if value == ";":
                recent = []
            else:
                recent.append(value)
    return result, comments
