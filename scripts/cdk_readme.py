"""Prints the README of the npm and PyPI package upsert-slr-cdk: the repository's docs/cdk.md,
under the package's name. One text for the registries and the repository."""

import re
import sys
from pathlib import Path

text = Path(sys.argv[1]).read_text(encoding="utf-8")
title, _, body = text.partition("\n")
if not title.startswith("# "):
    sys.exit(f"{sys.argv[1]}: the first line must be the page's title")
# A registry page has no repository beside it: a relative link there leads nowhere.
relative = re.findall(r"\]\((?!https://)([^)]*)\)", body)
if relative:
    sys.exit(f"{sys.argv[1]}: links a registry page cannot follow: {relative}; name the file in code instead")
print("# upsert-slr-cdk\n")
print(body.strip("\n"))
