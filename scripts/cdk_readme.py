"""Prints the README of the npm and PyPI package upsert-slr-cdk: the repository README's
"Use it from CDK" section, one heading level up, under the package's name. One text for both."""
import re
import sys

SECTION = "## Use it from CDK"

text = open(sys.argv[1], encoding="utf-8").read()
start = text.index(SECTION) + len(SECTION)
end = text.find("\n## ", start)
body = text[start : end if end >= 0 else len(text)].strip("\n")
# Links to other parts of the repository README mean nothing on a registry page.
if re.search(r"\]\(#", body):
    sys.exit(f"{sys.argv[1]}: the section {SECTION!r} must not link to anchors of the README")
body = re.sub(r"^###", "##", body, flags=re.M)
print("# upsert-slr-cdk\n")
print(body)
