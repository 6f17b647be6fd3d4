"""Fails when a bootstrap needs a newer glibc than Lambda's OS has, and names the symbols.

    python3 scripts/check_glibc.py [--max 2.34] FILE...

FILE is a bootstrap or a zip holding one. provided.al2023 has glibc 2.34: a binary linked
against a newer glibc's symbols fails to start there ("GLIBC_2.38 not found"). The release
build pins the floor lower (GLIBC_FLOOR in scripts/workshop/rust.py); this checks the result, whatever built it.
Reads the dynamic symbol table with `readelf`, which reads ELF files of any architecture.
"""

import argparse
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

VERSIONED = re.compile(r"\s(\S+?)@+GLIBC_(\d+(?:\.\d+)+)")


def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def glibc_symbols(binary: Path) -> dict[str, tuple[int, ...]]:
    """Each glibc-versioned dynamic symbol of `binary`, and the version it needs."""
    out = subprocess.run(
        ["readelf", "--dyn-syms", "--wide", str(binary)], check=True, capture_output=True, text=True
    ).stdout
    return {m.group(1): version(m.group(2)) for m in VERSIONED.finditer(out)}


def bootstrap_of(path: Path, scratch: Path) -> Path:
    if not zipfile.is_zipfile(path):
        return path
    with zipfile.ZipFile(path) as archive:
        target = scratch / path.name / "bootstrap"
        target.parent.mkdir(parents=True)
        target.write_bytes(archive.read("bootstrap"))
        return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", default="2.34", help="newest glibc allowed (default 2.34, provided.al2023)")
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args()
    ceiling = version(args.max)
    failed = False
    with tempfile.TemporaryDirectory() as scratch:
        for path in args.files:
            symbols = glibc_symbols(bootstrap_of(path, Path(scratch)))
            if not symbols:
                print(f"{path}: no versioned glibc symbol: not a dynamically linked glibc binary")
                failed = True
                continue
            newest = max(symbols.values())
            above = sorted(f"{name}@GLIBC_{'.'.join(map(str, v))}" for name, v in symbols.items() if v > ceiling)
            shown = ".".join(map(str, newest))
            if above:
                print(f"{path}: needs glibc {shown}, above {args.max}: {', '.join(above)}")
                failed = True
            else:
                print(f"{path}: needs glibc {shown} at most (allowed: {args.max})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
