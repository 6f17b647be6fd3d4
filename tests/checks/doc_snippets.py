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

What a snippet may be, and what the harness gives it, is in the docstrings of `check_yaml`,
`check_sh`, `ts_project` and `run_python` below. ```text is not checked.
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

ROOT = Path(__file__).resolve().parents[2]
DOCS = ["README.md", "CONTRIBUTING.md"]

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
# The names a TypeScript snippet may use without importing them.
TS_KNOWN = {
    **{
        n: "aws-cdk-lib"
        for n in ["App", "Stack", "Aspects", "CfnOutput", "Duration", "RemovalPolicy", "Fn", "DefaultStackSynthesizer"]
    },
    **{
        n: "upsert-slr-cdk" for n in ["ServiceLinkedRole", "ServiceLinkedRoles", "ServiceLinkedRoleFunction", "Backing"]
    },
}
TS_NAMESPACES = {"lambda": "aws-cdk-lib/aws-lambda", "ecs": "aws-cdk-lib/aws-ecs", "cdk": "aws-cdk-lib"}


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
        # Here, not at the top: the ts and python commands run where cfn-lint is not installed.
        from checks import templates

        if self.accepted is None:
            self.accepted = templates.accepted_properties()
        for name, resource in (resources or {}).items():
            if not isinstance(resource, dict) or resource.get("Type") != "Custom::ServiceLinkedRole":
                continue
            self.slrs += 1
            props = resource.get("Properties") or {}
            for problem in templates.service_timeout_problems(name, props.get("ServiceTimeout"), parameters):
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


def snippets(args, langs):
    found = []
    for path in doc_files(args):
        blocks, _ = parse(path)
        found += [b for b in blocks if b.lang in langs]
    return found


# --- TypeScript ------------------------------------------------------------------------------


def declares(text, name):
    return re.search(rf"\b(const|let|var|function|class)\s+{name}\b", text) is not None


def ts_source(block):
    """One snippet as a module whose `synth()` returns its apps. Its lines keep their line
    numbers in the markdown file, so tsc's errors point at the doc; everything around them is
    on line 1 or after the last one."""
    lines = block.text.rstrip("\n").split("\n")
    imports, body, i = [], [], 0
    while i < len(lines):
        if re.match(r"^import\s", lines[i]):
            statement = [lines[i]]
            while not re.search(r"from\s+['\"][^'\"]+['\"];?\s*$|^import\s+['\"]", statement[-1]) and i + 1 < len(
                lines
            ):
                i += 1
                statement.append(lines[i])
            imports.append(" ".join(s.strip() for s in statement))
            body += [""] * len(statement)
        else:
            body.append(lines[i])
        i += 1
    text = "\n".join(body)
    imported = set()
    for statement in imports:
        m = re.match(r"^import\s+(.*?)\s+from", statement)
        if m:
            imported |= set(re.findall(r"(?:\bas\s+)?\b([A-Za-z_$][\w$]*)\b(?=\s*(?:,|}|$))", m.group(1)))
    header = ["import * as __cdk from 'aws-cdk-lib';", "import * as __ecs from 'aws-cdk-lib/aws-ecs';", *imports]
    for name, module in TS_KNOWN.items():
        if re.search(rf"(?<![.\w]){name}\b", text) and name not in imported and not declares(text, name):
            header.append(f"import {{ {name} }} from '{module}';")
    for name, module in TS_NAMESPACES.items():
        if re.search(rf"(?<![.\w]){name}\.", text) and name not in imported and not declares(text, name):
            header.append(f"import * as {name} from '{module}';")
    has = {n: declares(text, n) for n in ("app", "stack", "cluster")}
    made = "const __stack = new __cdk.Stack(app, 'Stack'); const __cluster = new __ecs.Cluster(__stack, 'Cluster');"
    given = " ".join(f"const {n} = __{n};" for n in ("stack", "cluster") if not has[n])
    if has["app"]:
        # The snippet makes the app: the harness's stack and cluster go into it, on the line
        # that declares it.
        m = re.search(r"\b(const|let|var)\s+app\b[^;]*;", text, re.S)
        if not m:
            raise SystemExit(f"{block.where}: declare `app` in one statement ending with `;`")
        text = text[: m.end()] + f" {made} {given}" + text[m.end() :]
        head = "export function synth(): __cdk.App[] {"
        tail = "\nreturn [app]; }\n"
    else:
        head = (
            f"export function synth(): __cdk.App[] {{ const app = new __cdk.App(); {made} "
            f"function __body(this: __cdk.Stack) {{ {given}"
        )
        tail = "\n}\n__body.call(__stack); return [app]; }\n"
    prefix = " ".join(header) + " " + head
    padding = "\n" * (block.line - 1)
    return prefix + padding + text + tail


RUN_JS = r"""// Synthesizes each snippet in an app of its own; fails naming the doc file:line of each that
// throws, has an error annotation, or holds neither a Custom::ServiceLinkedRole nor the function.
const fs = require('fs');
const os = require('os');
const path = require('path');
const snippets = SNIPPETS;
let failed = 0;
for (const s of snippets) {
  const where = `${s.where}`;
  try {
    process.env.CDK_OUTDIR = fs.mkdtempSync(path.join(os.tmpdir(), 'doc-snippet-'));
    const apps = require(path.join(__dirname, s.module)).synth();
    const problems = [];
    let found = false;
    for (const app of apps) {
      for (const stack of app.synth().stacksRecursively) {
        for (const m of stack.messages) {
          if (m.level === 'error') problems.push(`${m.id}: ${m.entry.data}`);
        }
        for (const r of Object.values(stack.template.Resources || {})) {
          if (r.Type === 'Custom::ServiceLinkedRole' ||
              (r.Type === 'AWS::Lambda::Function' && (r.Properties || {}).Handler === 'bootstrap')) found = true;
        }
      }
    }
    if (!found) problems.push('synthesized neither a Custom::ServiceLinkedRole nor the function (Handler bootstrap)');
    if (problems.length) {
      failed++;
      console.error(`FAIL ${where}: ${problems.join('; ')}`);
    } else {
      console.error(`ok ${where}`);
    }
  } catch (e) {
    failed++;
    console.error(`FAIL ${where}: ${e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : e}`);
  }
}
console.error(`TypeScript snippets: ${snippets.length - failed} of ${snippets.length} synthesized`);
if (snippets.length === 0) { console.error('FAIL no ```ts snippet found'); process.exit(1); }
process.exit(failed ? 1 : 0);
"""


def ts_project(outdir, args):
    """Writes OUTDIR/<file>_<line>.ts for each ```ts snippet, a tsconfig.json (strict, unused
    locals allowed) and run.js. A snippet may use, without declaring them, `app` (an App),
    `stack` (a Stack in it), `cluster` (an ecs.Cluster in `stack`) and `this` (the stack);
    when it declares `app` itself, `stack` and `cluster` go into that one. The names of
    TS_KNOWN and TS_NAMESPACES need no import."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    entries = []
    for block in snippets(args, {"ts", "typescript"}):
        name = f"{block.path.replace('/', '_')}_{block.line}"
        (outdir / f"{name}.ts").write_text(ts_source(block))
        entries.append({"where": block.where, "module": f"{name}.js"})
    config = {
        "compilerOptions": {
            "target": "ES2022",
            "module": "commonjs",
            "lib": ["ES2022"],
            "strict": True,
            "noImplicitThis": True,
            "skipLibCheck": True,
            "types": [],
        },
        "include": ["*.ts"],
    }
    (outdir / "tsconfig.json").write_text(json.dumps(config, indent=2) + "\n")
    (outdir / "run.js").write_text(RUN_JS.replace("SNIPPETS", json.dumps(entries, indent=2)))
    print(f"{len(entries)} TypeScript snippets in {outdir}")
    return 0 if entries else 1


def mermaid_files(outdir, args):
    """Writes OUTDIR/<file>_<line>.mmd for each ```mermaid diagram: the file's name says where
    a diagram that does not parse is."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    diagrams = snippets(args, {"mermaid"})
    for block in diagrams:
        (outdir / f"{block.path.replace('/', '_')}_{block.line}.mmd").write_text(block.text)
    print(f"{len(diagrams)} Mermaid diagrams in {outdir}")
    return 0 if diagrams else 1


# --- Python ----------------------------------------------------------------------------------

PY_PRELUDE = """
import aws_cdk as cdk
from aws_cdk import App, Stack, Aspects, CfnOutput, Duration, RemovalPolicy, Fn, DefaultStackSynthesizer
from aws_cdk import aws_ecs as ecs, aws_lambda as lambda_
from upsert_slr_cdk import *
app = cdk.App(outdir=OUTDIR)
"""
PY_HARNESS = 'stack = cdk.Stack(app, "Stack")\nself = stack\ncluster = ecs.Cluster(stack, "Cluster")'


def run_python(args):
    """Runs each ```python snippet in a namespace of its own, after PY_PRELUDE (`app`, `stack`,
    `self` = the stack, `cluster`, the known names), then synthesizes its `app` (the prelude's
    or its own, which then gets `stack` and `cluster`)."""
    blocks = snippets(args, {"python", "py"})
    failed = 0
    for block in blocks:
        with tempfile.TemporaryDirectory() as outdir:
            namespace = {"OUTDIR": outdir, "__name__": "__doc_snippet__"}
            try:
                exec(compile(PY_PRELUDE + PY_HARNESS, "<prelude>", "exec"), namespace)
                # Padded so that a traceback names the markdown file's own line numbers; an app
                # the snippet makes gets the prelude's stack and cluster, on the same line.
                text = re.sub(
                    r"^(app\s*=.*)$", r"\1; " + PY_HARNESS.replace("\n", "; "), block.text, count=1, flags=re.M
                )
                exec(compile("\n" * (block.line - 1) + text, block.path, "exec"), namespace)
                problems, found = [], False
                for stack in namespace["app"].synth().stacks_recursively:
                    for m in stack.messages:
                        if str(m.level).lower().endswith("error"):
                            problems.append(f"{m.id}: {m.entry.data}")
                    for r in (stack.template.get("Resources") or {}).values():
                        if r["Type"] == "Custom::ServiceLinkedRole" or (
                            r["Type"] == "AWS::Lambda::Function"
                            and r.get("Properties", {}).get("Handler") == "bootstrap"
                        ):
                            found = True
                if not found:
                    problems.append(
                        "synthesized neither a Custom::ServiceLinkedRole nor the function (Handler bootstrap)"
                    )
            except Exception as e:
                import traceback

                frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == block.path]
                at = f"{block.path}:{frames[-1].lineno}" if frames else block.where
                problems = [f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''} (at {at})"]
            if problems:
                failed += 1
                print(f"FAIL {block.where}: {'; '.join(problems)}", file=sys.stderr)
            else:
                print(f"ok {block.where}", file=sys.stderr)
    print(f"Python snippets: {len(blocks) - failed} of {len(blocks)} synthesized", file=sys.stderr)
    if not blocks:
        print("FAIL no ```python snippet found", file=sys.stderr)
        return 1
    return 1 if failed else 0


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


FIXTURES = ROOT / "tests/docs-fixtures"


def expect_each(output, blocks):
    """The first block of the fixture synthesized, each other one failed, named by its line."""
    problems = []
    for n, block in enumerate(blocks):
        expected = f"{'ok' if n == 0 else 'FAIL'} {block.where}"
        if not re.search(rf"^{re.escape(expected)}\b", output, re.M):
            problems.append(f"expected `{expected}` in: {output[-2000:]}")
    return problems


def ts_selftest():
    """In the CDK app's directory: a snippet that does not compile fails tsc at its own line;
    of those in snippets.md, the first synthesizes and the others fail (run by cdk-test)."""
    problems = []
    with tempfile.TemporaryDirectory(dir=os.getcwd()) as tmp:
        fixture = FIXTURES / "ts-compile.md"
        ts_project(f"{tmp}/compile", [fixture])
        [block] = snippets([fixture], {"ts"})
        run = subprocess.run(["npx", "tsc", "-p", f"{tmp}/compile"], capture_output=True, text=True)
        lines = {int(n) for n in re.findall(r"ts-compile\.md_\d+\.ts\((\d+),", run.stdout)}
        if run.returncode == 0 or not lines or not lines <= set(range(block.line, block.line + block.text.count("\n"))):
            problems.append(f"tsc should fail within {block.where}'s lines: {run.returncode} {run.stdout[-1000:]}")
        fixture = FIXTURES / "snippets.md"
        ts_project(f"{tmp}/synth", [fixture])
        run = subprocess.run(["npx", "tsc", "-p", f"{tmp}/synth"], capture_output=True, text=True)
        if run.returncode:
            problems.append(f"tsc failed on {rel(fixture)}: {run.stdout[-1000:]}")
        else:
            run = subprocess.run(["node", f"{tmp}/synth/run.js"], capture_output=True, text=True)
            if run.returncode == 0:
                problems.append(f"run.js passed {rel(fixture)}")
            problems += expect_each(run.stderr, snippets([fixture], {"ts"}))
    for problem in problems:
        print(f"FAIL ts-selftest: {problem}", file=sys.stderr)
    print(f"TypeScript snippets self-test: {'FAILED' if problems else 'ok'}", file=sys.stderr)
    return 1 if problems else 0


def python_selftest():
    """Of the ```python snippets in snippets.md the first synthesizes, the others fail."""
    import contextlib
    import io

    fixture = FIXTURES / "snippets.md"
    output = io.StringIO()
    with contextlib.redirect_stderr(output):
        status = run_python([fixture])
    problems = ([] if status else [f"{rel(fixture)} passed"]) + expect_each(
        output.getvalue(), snippets([fixture], {"python"})
    )
    for problem in problems:
        print(f"FAIL python-selftest: {problem}", file=sys.stderr)
    print(f"Python snippets self-test: {'FAILED' if problems else 'ok'}", file=sys.stderr)
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
