"""The documentation's markdown as the doc checks read it: the files, their fenced and
indented code blocks with the line each starts at, and the prose around them."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ["README.md", "CONTRIBUTING.md"]


class Block:
    """A code block; `line` is the markdown file's line of its first line of code."""

    def __init__(self, path, line, lang, text):
        self.path, self.line, self.lang, self.text = path, line, lang, text

    @property
    def where(self):
        return f"{self.path}:{self.line}"


def rel(path):
    path = Path(path).resolve()
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def doc_files(args):
    if args:
        return [Path(a) for a in args]
    found = [ROOT / d for d in DOCS if (ROOT / d).is_file()]
    return found + sorted((ROOT / "docs").glob("*.md"))


def parse(path):
    """The fenced blocks of a markdown file (an indented fence's indentation removed), its
    indented code blocks (read as ```sh, so that a command written that way is checked too), and
    the lines outside both
    (prose: `code`, links, headings), as (line number, text)."""
    lines = Path(path).read_text().split("\n")
    blocks, prose = [], []
    i, previous_blank, in_list = 0, True, False
    while i < len(lines):
        line = lines[i]
        fence = re.match(r"^( *)(```+|~~~+)\s*([\w+-]*)", line)
        if fence:
            indent, mark, lang = len(fence.group(1)), fence.group(2), fence.group(3).lower()
            start, body = i + 2, []
            i += 1
            while i < len(lines) and not re.match(rf"^ *{mark[0]}{{{len(mark)},}}\s*$", lines[i]):
                body.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i])
                i += 1
            blocks.append(Block(rel(path), start, lang, "\n".join(body) + "\n"))
            i += 1
            previous_blank = False
            continue
        if re.match(r"^\s*([-*+]|\d+\.)\s", line):
            in_list = True
        elif line.strip() == "":
            pass
        elif not line.startswith(" "):
            in_list = False
        if line.startswith("    ") and previous_blank and not in_list and line.strip():
            start, body = i + 1, []
            while i < len(lines) and (lines[i].startswith("    ") or lines[i].strip() == ""):
                body.append(lines[i][4:])
                i += 1
            blocks.append(Block(rel(path), start, "sh", "\n".join(body).rstrip() + "\n"))
            previous_blank = True
            continue
        prose.append((i + 1, line))
        previous_blank = line.strip() == ""
        i += 1
    return blocks, prose


def snippets(args, langs):
    found = []
    for path in doc_files(args):
        blocks, _ = parse(path)
        found += [b for b in blocks if b.lang in langs]
    return found
