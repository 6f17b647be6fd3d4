"""Every example in the documentation (README.md, CONTRIBUTING.md, docs/*.md) must be right:

  python -m checks.doc_snippets check [FILES...]   static checks (the tools venv: cfn-lint)
  python -m checks.doc_snippets selftest           each check fails on a bad example
  python3 -m checks.doc_snippets ts OUTDIR [FILES...]
      writes the ```ts snippets as a TypeScript project; in a CDK app's directory (aws-cdk-lib,
      constructs, typescript and upsert-slr-cdk installed) `npx tsc -p OUTDIR && node
      OUTDIR/run.js` synthesizes each (scripts/workshop/cdk.py does)
  venv/bin/python -m checks.doc_snippets python [FILES...]
      synthesizes each ```python snippet (a venv with aws-cdk-lib and upsert_slr_cdk)
  ts-selftest, python-selftest    the same on tests/docs-fixtures/: bad snippets fail
  python3 -m checks.doc_snippets mermaid OUTDIR [FILES...]
      writes each ```mermaid diagram as OUTDIR/<file>_<line>.mmd, for
      tests/checks/mermaid/check.mjs to parse (scripts/workshop/checks.py does)

What a snippet may be, and what the harness gives it, is in the docstrings of `check_yaml` and
`check_sh` below and of `ts_project` and `run_python` in doc_programs.py (the markdown is read
by doc_markdown.py). ```text is not checked.
"""

import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from checks import slr_resource
from checks.doc_markdown import ROOT, doc_files, parse, rel
from checks.doc_programs import mermaid_files, python_selftest, run_python, ts_project, ts_selftest

# First words a command in a ```sh block may start with, besides the repository's own files.
TOOLS = {
    "aws",
    "awslocal",
    "sam",
    "cdk",
    "cdklocal",
    "npx",
    "npm",
    "node",
    "pip",
    "pip3",
    "python",
    "python3",
    "python3.11",
    "python3.13",
    "cargo",
    "rustup",
    "rustc",
    "git",
    "cd",
    "export",
    "make",
    "nox",
    "sudo",
    "apt-get",
    "curl",
    "twine",
    "source",
    "ls",
    "cat",
    "echo",
    "env",
    "unzip",
    "sha256sum",
    "tar",
    "mkdir",
    "cp",
    "mv",
    "rm",
    "jq",
    "grep",
    "test",
    "cfn-lint",
    "zip",
    "bash",
    "pytest",
}
CHECKED = {"yaml", "yml", "json", "ts", "typescript", "python", "py", "sh", "bash", "shell"}
# Mermaid diagrams are parsed by tests/checks/mermaid/check.mjs (`mermaid` below), not here.
UNCHECKED = {"mermaid", "text", ""}
PLACEHOLDER = re.compile(r"VERSION|ARCH|<[^>]*>|\*|\{[^}]*\}|\.\.\.|…|\$")


def slug(heading, seen):
    """GitHub's anchor of a heading."""
    text = re.sub(r"<[^>]+>", "", heading).replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text).replace(" ", "-")
    n = seen.get(text, 0)
    seen[text] = n + 1
    return text if n == 0 else f"{text}-{n}"


def anchors(path):
    _, prose = parse(path)
    seen = {}
    return {slug(m.group(1), seen) for _, line in prose if (m := re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line))}


class Checker:
    def __init__(self, root=ROOT):
        self.root = root
        self.failures = []
        self.counts = dict(yaml=0, json=0, sh=0, links=0, paths=0, make=0)
        self.top_dirs, self.top_files = self.tracked_top_level()
        self.targets = set(re.findall(r"^([A-Za-z0-9_.-]+):(?!=)", (root / "Makefile").read_text(), re.M)) - {".PHONY"}
        self.anchor_cache = {}
        self.templates = []  # (Block, text to lint, lines added above the snippet)
        self.slrs = 0
        self.accepted = None  # what handler/role/properties.rs reads, read once when a role shows up

    def fail(self, where, message):
        self.failures.append(f"{where}: {message}")

    def tracked_top_level(self):
        files = subprocess.run(
            ["git", "-C", str(self.root), "ls-files"], capture_output=True, text=True, check=True
        ).stdout.split()
        return {f.split("/")[0] for f in files if "/" in f}, {f for f in files if "/" not in f}

    def is_repo_path(self, token):
        token = token.rstrip(".,:;")
        first = token.split("/")[0]
        return ("/" in token and first in self.top_dirs) or token in self.top_files

    def ignored(self, token):
        return subprocess.run(["git", "-C", str(self.root), "check-ignore", "-q", token]).returncode == 0

    def check_path(self, where, token):
        token = token.rstrip(".,:;")
        if PLACEHOLDER.search(token) or not self.is_repo_path(token):
            return
        self.counts["paths"] += 1
        if not (self.root / token).exists() and not self.ignored(token):
            self.fail(where, f"{token} does not exist in the repository")

    def check_make(self, where, words):
        targets = [w for w in words if not w.startswith("-") and "=" not in w]
        for target in targets:
            self.counts["make"] += 1
            if target not in self.targets:
                self.fail(where, f"make {target}: no such target in the Makefile")

    # --- ```sh ---------------------------------------------------------------------------------

    def check_sh(self, block):
        """Each command: `\\` continuations joined, comments dropped, split at &&, ||, ;, |, (
        and ); leading VAR=value and `export` skipped; the first word a tool of TOOLS or a file
        of the repository. `make T`: T a Makefile target; `cargo test --test N`: tests/N.rs;
        arguments that are repository paths (scripts/..., --template-file, -f) must exist
        unless git ignores them (generated)."""
        self.counts["sh"] += 1
        text = re.sub(r"\\\n", " ", block.text)
        heredoc = None
        for offset, line in enumerate(text.split("\n")):
            where = f"{block.path}:{block.line + offset}"
            if heredoc:
                heredoc = None if line.strip() == heredoc else heredoc
                continue
            m = re.search(r"<<-?\s*['\"]?(\w+)['\"]?", line)
            if m:
                heredoc = m.group(1)
            try:
                lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
                lexer.commenters = "#"
                lexer.whitespace_split = True
                tokens = list(lexer)
            except ValueError as e:
                self.fail(where, f"cannot read the command ({e}): {line.strip()}")
                continue
            command, redirected = [], False
            for token in [*tokens, ";"]:
                if token and set(token) <= set("<>&") and set(token) & set("<>"):
                    redirected = True  # the next word is a file or a heredoc's delimiter
                elif token and set(token) <= set("&|;()"):
                    self.check_command(where, command)
                    command, redirected = [], False
                elif redirected:
                    redirected = False
                else:
                    command.append(token)

    def check_command(self, where, words):
        while words and (re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]) or words[0] in ("export", "sudo", "env")):
            words = words[1:]
        if not words or words == ["$"]:  # a command substitution's `$(`
            return
        if words[0] in ("$", "#", ">"):
            self.fail(where, f"a prompt `{words[0]} `: write the command alone, its output in a ```text block")
            return
        first, args = words[0], words[1:]
        if first not in TOOLS and not (self.is_repo_path(first.removeprefix("./")) and (self.root / first).exists()):
            self.fail(where, f"{first}: not a known tool nor a file of the repository")
            return
        for i, arg in enumerate(args):
            if arg in ("--template-file", "-f", "--template") and i + 1 < len(args):
                self.check_path(where, args[i + 1])
            elif "=" not in arg:
                self.check_path(where, arg)
        if first == "make":
            # -C DIR and -f FILE take a value that is not a target.
            self.check_make(
                where,
                [
                    a
                    for i, a in enumerate(args)
                    if a not in ("-C", "-f") and (i == 0 or args[i - 1] not in ("-C", "-f"))
                ],
            )
        if first == "cargo" and "--test" in args:
            i = args.index("--test")
            if i + 1 < len(args):
                name = args[i + 1]
                if not ((self.root / f"tests/{name}.rs").is_file() or (self.root / f"tests/{name}/main.rs").is_file()):
                    self.fail(where, f"cargo test --test {name}: no tests/{name}.rs")

    # --- ```yaml, ```json ----------------------------------------------------------------------

    def check_yaml(self, block):
        """A template (a top-level `Resources`) or a fragment of one's Resources (`LogicalId:`
        with a `Type` under it, at any indentation: wrapped under `Resources:`). Both go
        through cfn-lint; each Custom::ServiceLinkedRole must set ServiceTimeout (above 900,
        at most 3600) and only properties the handler reads."""
        from cfnlint.decode import cfn_yaml

        self.counts["yaml"] += 1
        text = textwrap.dedent(block.text)
        try:
            data = cfn_yaml.loads(text)
        except Exception as e:  # cfn-lint raises several kinds, all with a message
            self.fail(block.where, f"YAML does not load: {str(e).splitlines()[0]}")
            return
        data = json.loads(json.dumps(data))
        if isinstance(data, dict) and "Resources" in data:
            self.templates.append((block, text, 0))
            resources = data["Resources"]
        elif isinstance(data, dict) and data and all(isinstance(v, dict) and "Type" in v for v in data.values()):
            self.templates.append((block, "Resources:\n" + textwrap.indent(text, "  "), 1))
            resources = data
        else:
            self.fail(
                block.where,
                "not a template (no top-level Resources) or a fragment of Resources (LogicalId: with a Type)",
            )
            return
        self.check_slrs(block, resources, data.get("Parameters", {}) if "Resources" in data else {})

    def check_slrs(self, block, resources, parameters):
        if self.accepted is None:
            self.accepted = slr_resource.accepted_properties()
        for name, resource in (resources or {}).items():
            if not isinstance(resource, dict) or resource.get("Type") != "Custom::ServiceLinkedRole":
                continue
            self.slrs += 1
            props = resource.get("Properties") or {}
            for problem in slr_resource.service_timeout_problems(name, props.get("ServiceTimeout"), parameters):
                self.fail(block.where, problem)
            unknown = set(props) - self.accepted
            if unknown:
                self.fail(block.where, f"{name}: properties the handler does not read: {sorted(unknown)}")

    def check_json(self, block):
        self.counts["json"] += 1
        try:
            data = json.loads(block.text)
        except json.JSONDecodeError as e:
            self.fail(f"{block.path}:{block.line + e.lineno - 1}", f"JSON does not parse: {e.msg}")
            return
        if isinstance(data, dict) and "Resources" in data:
            self.templates.append((block, block.text, 0))

    def lint_templates(self):
        """One cfn-lint run for every template. cfn-lint lints a template naming an account's
        macro (`Transform: UpsertSlr`, `Fn::Transform` under Resources) as it is, without
        error (it expands only the SAM transform), so those go in unchanged."""
        if not self.templates:
            return
        with tempfile.TemporaryDirectory() as tmp:
            files = {}
            for n, (block, text, added) in enumerate(self.templates):
                suffix = "json" if block.lang == "json" else "yaml"
                path = Path(tmp) / f"snippet{n}.{suffix}"
                path.write_text(text)
                files[str(path)] = (block, added)
            env = dict(os.environ, AWS_DEFAULT_REGION="us-east-1")
            run = subprocess.run(["cfn-lint", "--format", "parseable", *files], capture_output=True, text=True, env=env)
            if run.returncode not in (0, 2, 4, 6, 8, 10, 12, 14) or (run.returncode and not run.stdout):
                self.fail("cfn-lint", f"exited {run.returncode}: {run.stderr.strip()[-500:]}")
            for out in run.stdout.splitlines():
                m = re.match(r"^(.*?):(\d+):(\d+):\d+:\d+:(\w+):(.*)$", out)
                if not m or m.group(1) not in files:
                    self.fail("cfn-lint", out)
                    continue
                block, added = files[m.group(1)]
                line = block.line + int(m.group(2)) - 1 - added
                self.fail(f"{block.path}:{line}", f"cfn-lint {m.group(4)} {m.group(5)}")

    # --- prose ---------------------------------------------------------------------------------

    def check_prose(self, path, prose):
        for number, line in prose:
            where = f"{rel(path)}:{number}"
            spans = re.findall(r"`([^`]+)`", line)
            for span in spans:
                words = span.split()
                if words and words[0] in ("make", "cargo"):
                    self.check_command(where, words)
                else:
                    for word in words:
                        self.check_path(where, word)
            bare = re.sub(r"`[^`]*`", "", line)
            definition = re.match(r"^ {0,3}\[[^\]]+\]:\s*(\S+)", bare)
            if definition:
                self.check_link(path, where, definition.group(1).strip("<>"))
            for target in re.findall(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", bare):
                self.check_link(path, where, target)

    def check_link(self, path, where, target):
        self.counts["links"] += 1
        if re.match(r"^(https://|mailto:)", target):
            return
        if re.match(r"^[a-z]+:", target):
            self.fail(where, f"link {target}: external links must be https")
            return
        file, _, anchor = target.partition("#")
        dest = (Path(path).parent / file).resolve() if file else Path(path).resolve()
        if not dest.exists():
            self.fail(where, f"link {target}: {rel(dest)} does not exist")
            return
        if anchor:
            if dest.suffix != ".md":
                self.fail(where, f"link {target}: an anchor into a file that is not markdown")
                return
            if dest not in self.anchor_cache:
                self.anchor_cache[dest] = anchors(dest)
            if anchor not in self.anchor_cache[dest]:
                self.fail(where, f"link {target}: no heading of {rel(dest)} has the anchor #{anchor}")

    # --- all -----------------------------------------------------------------------------------

    def run(self, paths, min_slrs=2):
        for path in paths:
            if not Path(path).is_file():
                self.fail(str(path), "no such file")
                continue
            blocks, prose = parse(path)
            self.check_prose(path, prose)
            for block in blocks:
                if block.lang in ("yaml", "yml"):
                    self.check_yaml(block)
                elif block.lang == "json":
                    self.check_json(block)
                elif block.lang in ("sh", "bash", "shell"):
                    self.check_sh(block)
                elif block.lang not in CHECKED | UNCHECKED:
                    self.fail(block.where, f"```{block.lang}: use yaml, json, ts, python, sh, mermaid or text")
        self.lint_templates()
        if self.slrs < min_slrs:
            self.fail("docs", f"{self.slrs} Custom::ServiceLinkedRole in YAML snippets, expected at least {min_slrs}")
        return self.failures


def check(args):
    paths = doc_files(args)
    checker = Checker()
    # The documentation as a whole must show the resource at least twice; one page need not.
    failures = checker.run(paths, min_slrs=0 if args else 2)
    for failure in failures:
        print(f"FAIL {failure}", file=sys.stderr)
    c = checker.counts
    print(
        f"docs ({', '.join(rel(p) for p in paths)}): {c['yaml']} yaml, {c['json']} json, {c['sh']} sh, "
        f"{c['links']} links, {c['paths']} paths, {c['make']} make targets checked; "
        f"{checker.slrs} Custom::ServiceLinkedRole; {'FAILED' if failures else 'ok'}"
    )
    return 1 if failures else 0


# --- self-test -------------------------------------------------------------------------------

BAD = {
    "bad-yaml.md": (
        "```yaml\nResources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      MemorySize: 64\n```\n",
        "E3034",
    ),
    "bad-fragment.md": ("```yaml\nOutputs:\n  X:\n    Value: 1\n```\n", "not a template"),
    "bad-timeout.md": (
        "```yaml\n  Role:\n    Type: Custom::ServiceLinkedRole\n    Properties:\n      ServiceToken: !ImportValue x\n      AWSServiceName: ecs.amazonaws.com\n```\n",
        "ServiceTimeout is not set",
    ),
    "bad-property.md": (
        "```yaml\n  Role:\n    Type: Custom::ServiceLinkedRole\n    Properties:\n      ServiceToken: !ImportValue x\n      ServiceTimeout: 960\n      AWSServiceNam: ecs.amazonaws.com\n```\n",
        "does not read",
    ),
    "bad-json.md": ('```json\n{"a": 1,}\n```\n', "JSON does not parse"),
    "bad-make.md": ("Run `make no-such-target`.\n", "no such target"),
    "bad-sh-make.md": ("```sh\ncd x && make nope\n```\n", "make nope"),
    "bad-tool.md": ("```sh\nfrobnicate --all\n```\n", "not a known tool"),
    "bad-cargo.md": ("```sh\ncargo test --test nope\n```\n", "tests/nope.rs"),
    "bad-cargo-prose.md": ("Run `cargo test --test nope`.\n", "tests/nope.rs"),
    "bad-path.md": ("See `scripts/no-such-script.sh`.\n", "does not exist in the repository"),
    "bad-anchor.md": ("# Title\n\n[x](#no-such-heading)\n", "no heading"),
    "bad-link.md": ("[x](no-such-file.md)\n", "does not exist"),
    "bad-http.md": ("[x](http://example.com/)\n", "must be https"),
    "bad-reference.md": ("[x][y]\n\n[y]: missing.md\n", "does not exist"),
    "bad-prompt.md": ("```sh\n$ make test\n```\n", "a prompt"),
}
GOOD = """# A title: `Transform: UpsertSlr`

## Duplicate
## Duplicate

[a](#a-title-transform-upsertslr) [b](#duplicate-1) [c](GOOD.md#duplicate) [d](https://example.com/)
`make templates`, `scripts/workshop/shell.py`, `dist/upsert-slr-VERSION.zip`, `target/anything`

```sh
export PATH=$PWD/.venv-tools/bin:$PATH   # a comment
AWS_DEFAULT_REGION=us-east-1 make templates && cargo test --test transform | cat
nox -s localstack -- \\
    start cfn
cat >x.txt <<'END'
anything at all
END
echo $(make -s localstack-start)
```

```yaml
Transform: UpsertSlr
Resources:
  Role:
    Type: Custom::ServiceLinkedRole
    Properties:
      ServiceToken: !ImportValue upsert-slr-ServiceToken
      ServiceTimeout: 960
      AWSServiceName: ecs.amazonaws.com
```

```yaml
  Other:
    Type: Custom::ServiceLinkedRole
    Properties:
      ServiceToken: !ImportValue upsert-slr-ServiceToken
      ServiceTimeout: 960
      awsServiceName: ecs.amazonaws.com
```

```json
{"Resources": {"Cluster": {"Type": "AWS::ECS::Cluster"}}}
```
"""


def selftest():
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        good = Path(tmp) / "GOOD.md"
        good.write_text(GOOD)
        failures = Checker().run([good])
        if failures:
            problems.append(f"a good document failed: {failures}")
        one = Path(tmp) / "one-role.md"
        one.write_text(BAD["bad-property.md"][0].replace("AWSServiceNam:", "AWSServiceName:"))
        failures = Checker().run([one])
        if not any("expected at least 2" in f for f in failures):
            problems.append(f"one Custom::ServiceLinkedRole in all the docs passed: {failures}")
        for name, (text, expected) in BAD.items():
            path = Path(tmp) / name
            path.write_text(text)
            failures = Checker().run([path], min_slrs=0)
            if not any(expected in f for f in failures):
                problems.append(f"{name}: expected a failure with {expected!r}, got {failures}")
    for problem in problems:
        print(f"FAIL selftest: {problem}", file=sys.stderr)
    print(f"doc_snippets selftest: {len(BAD)} bad examples caught, a good one passed: {'FAILED' if problems else 'ok'}")
    return 1 if problems else 0


def main(argv):
    commands = ("check", "ts", "python", "mermaid", "selftest", "ts-selftest", "python-selftest")
    if not argv or argv[0] not in commands:
        print(__doc__, file=sys.stderr)
        return 2
    command, args = argv[0], argv[1:]
    if command == "check":
        return check(args)
    if command == "selftest":
        return selftest()
    if command == "ts-selftest":
        return ts_selftest()
    if command == "python-selftest":
        return python_selftest()
    if command == "ts":
        if not args:
            print("usage: doc_snippets.py ts OUTDIR [FILES...]", file=sys.stderr)
            return 2
        return ts_project(args[0], args[1:])
    if command == "mermaid":
        if not args:
            print("usage: doc_snippets.py mermaid OUTDIR [FILES...]", file=sys.stderr)
            return 2
        return mermaid_files(args[0], args[1:])
    return run_python(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
