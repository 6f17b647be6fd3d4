"""The documentation's TypeScript, Python and Mermaid snippets as programs: written out as a
TypeScript project or run in a CDK venv and synthesized, each diagram written for the Mermaid
parser; and the self-tests on tests/docs-fixtures/ that bad snippets fail
(`python -m checks.doc_snippets ts|python|mermaid|ts-selftest|python-selftest`)."""

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from checks.doc_markdown import ROOT, rel, snippets

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
