#!/usr/bin/env python3
"""scripts/long_functions.py — list C functions whose body is longer than a limit.

    scripts/long_functions.py [--max N] [--exclude PATH]... FILE_OR_DIR...

A function's length is the number of lines strictly between the line holding its
opening `{` and its closing `}` at column 0 (the house style). Signatures may span
several lines. Prints "LINES  FILE:LINE  NAME" for every function over N (default
120) lines, longest first; exits 1 if any is found, 0 otherwise.
"""
import os
import re
import sys

IDENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(")


def strip(line, in_comment):
    """Return the line without comments and string/char literals, and the comment state."""
    out, i, n = [], 0, len(line)
    while i < n:
        if in_comment:
            j = line.find("*/", i)
            if j < 0:
                return "".join(out), True
            i, in_comment = j + 2, False
        elif line.startswith("/*", i):
            in_comment, i = True, i + 2
        elif line.startswith("//", i):
            break
        elif line[i] in "\"'":
            q, i = line[i], i + 1
            while i < n and line[i] != q:
                i += 2 if line[i] == "\\" else 1
            i += 1
            out.append(q + q)
        else:
            out.append(line[i])
            i += 1
    return "".join(out), in_comment


def functions(path):
    """Yield (name, line of `{`, body length) for each function definition in path."""
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    depth, in_comment, stmt, start = 0, False, "", None
    for no, raw in enumerate(lines, 1):
        code, in_comment = strip(raw, in_comment)
        if depth == 0 and not code.startswith("#"):
            stmt += " " + code
        for ch in code:
            if ch == "{":
                if depth == 0:
                    head = stmt.strip()
                    m = IDENT.search(head)
                    if (m and "=" not in head.split("(")[0]
                            and not re.match(r"(typedef|struct|union|enum)\b[^(]*$", head.split("(")[0])
                            and not head.startswith("extern \"")):
                        start = (m.group(1), no)
                    else:
                        start = None
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    if start and raw.startswith("}"):
                        yield start[0], start[1], no - start[1] - 1
                    start = None
                    stmt = ""
            elif ch == ";" and depth == 0:
                stmt = ""


def main(argv):
    limit, excludes, roots = 120, [], []
    it = iter(argv)
    for a in it:
        if a == "--max":
            limit = int(next(it))
        elif a == "--exclude":
            excludes.append(os.path.normpath(next(it)))
        else:
            roots.append(a)
    files = []
    for r in roots:
        if os.path.isdir(r):
            for d, _, fs in os.walk(r):
                files += [os.path.join(d, f) for f in fs if f.endswith(".c")]
        else:
            files.append(r)
    found = []
    for p in sorted(files):
        np = os.path.normpath(p)
        if any(np == e or np.startswith(e + os.sep) for e in excludes):
            continue
        found += [(n, p, ln, name) for name, ln, n in functions(p) if n > limit]
    for n, p, ln, name in sorted(found, key=lambda t: (-t[0], t[1], t[2])):
        print(f"{n:5d}  {p}:{ln}  {name}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
