#!/usr/bin/env python3
"""upsert-slr (Rust) against the npm package upsert-slr it replaces, standard library only.

Both run as Lambda runs them: a process started with the Lambda environment that polls this
script's Lambda Runtime API (on loopback) for events, works against the same LocalStack (IAM and
S3), PUTs its answer to a presigned S3 URL, and posts its result. Each cold start gets a fresh
LocalStack account (the access key is the account id), so its first event creates the role;
the events after it find the role there already (the skip path: both just answer).

Figures, per implementation, the two interleaved (alternating which goes first):
  init              process start -> its first request to /next
  first invocation  first event handed out -> its result posted (creates the role)
  warm invocation   later events, same measure (the role exists)
  CPU time          used by all its threads during init, and per warm invocation
  peak RSS          VmHWM from /proc/<pid>/status once its events are done
  zip size          the deployment zip (given on the command line)
Every answer is read back from S3 and must be SUCCESS, or the run fails.

  bench.py --ours BIN --anchor-dir DIR --endpoint URL [--cold N] [--warm N] [--markdown FILE]
  bench.py --variant before=BIN --variant after=BIN --endpoint URL   (builds of ours compared)
"""

import argparse
import contextlib
import http.client
import http.server
import json
import os
import platform
import queue
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
import zipfile
from pathlib import Path

from rig import cfn_response  # presigned ResponseURLs on LocalStack S3, as CloudFormation sends them

FUNCTION_NAME = "upsert-slr"
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION_NAME}"
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/bench/5b9d4e10"
INVOKE_TIMEOUT_S = 60


def now_ms():
    return time.perf_counter_ns() / 1e6


class RuntimeApi(http.server.ThreadingHTTPServer):
    """The Lambda Runtime API for one function process at a time (see `serve`)."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), RuntimeHandler)
        self.lock = threading.Condition()
        self.serve()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def handle_error(self, request, client_address):
        # A process stopped while it waited on /next is no error.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)

    @property
    def address(self):
        host, port = self.server_address[:2]
        return f"{host}:{port}"

    def serve(self):
        """Starts a fresh session: a new event queue, no timestamps."""
        with self.lock:
            old = getattr(self, "events", None)
            if old is not None:
                old.put(None)  # releases a /next still waiting for the previous process
            self.events = queue.Queue()
            self.first_next = None
            self.handed = {}
            self.results = {}

    def invoke(self, payload):
        """Queues an event; returns (handed out at, result posted at, kind, body) in ms."""
        request_id = str(uuid.uuid4())
        deadline_ms = int((time.time() + INVOKE_TIMEOUT_S) * 1000)
        self.events.put((request_id, json.dumps(payload).encode(), deadline_ms))
        with self.lock:
            if not self.lock.wait_for(lambda: request_id in self.results, INVOKE_TIMEOUT_S + 5):
                raise RuntimeError("no result within the invocation timeout")
            posted_at, kind, body = self.results[request_id]
            return self.handed[request_id], posted_at, kind, body


class RuntimeHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Lambda's Runtime API
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def reply(self, status, body=b"", headers=()):
        """Head and body in one write: two small writes would wait for a delayed ACK."""
        self.send_response_only(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self._headers_buffer.append(b"\r\n" + body)
        self.flush_headers()

    def do_GET(self):
        arrived = now_ms()
        api = self.server
        if self.path != "/2018-06-01/runtime/invocation/next":
            return self.reply(404)
        with api.lock:
            if api.first_next is None:
                api.first_next = arrived
            events = api.events
        event = events.get()
        if event is None:
            return self.reply(410)
        request_id, payload, deadline_ms = event
        with api.lock:
            api.handed[request_id] = now_ms()
        self.reply(
            200,
            payload,
            [
                ("Lambda-Runtime-Aws-Request-Id", request_id),
                ("Lambda-Runtime-Deadline-Ms", str(deadline_ms)),
                ("Lambda-Runtime-Invoked-Function-Arn", FUNCTION_ARN),
                ("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0"),
                ("Content-Type", "application/json"),
            ],
        )

    def do_POST(self):
        arrived = now_ms()
        api = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = self.path.strip("/").split("/")
        if parts[:3] == ["2018-06-01", "runtime", "init"]:
            print(f"init error: {body.decode(errors='replace')}", file=sys.stderr)
            return self.reply(202)
        if len(parts) != 5 or parts[4] not in ("response", "error"):
            return self.reply(404)
        with api.lock:
            api.results[parts[3]] = (arrived, parts[4], body)
            api.lock.notify_all()
        self.reply(202)


class Implementation:
    def __init__(self, name, command, env):
        self.name, self.command, self.env = name, command, env
        self.init, self.init_cpu, self.first, self.warm, self.warm_cpu, self.rss_mib = ([], [], [], [], [], [])


def event(key, request_id):
    """A Create as CloudFormation sends it, with the property names both accept."""
    return {
        "RequestType": "Create",
        "ServiceToken": FUNCTION_ARN,
        "ResponseURL": cfn_response.presign(key),
        "StackId": STACK_ID,
        "RequestId": request_id,
        "LogicalResourceId": "EcsServiceLinkedRole",
        "ResourceType": "Custom::ServiceLinkedRole",
        "ResourceProperties": {
            "ServiceToken": FUNCTION_ARN,
            "awsServiceName": "ecs.amazonaws.com",
            "waitTimeSeconds": "0",
        },
    }


def open_account(endpoint, account):
    """LocalStack sets an account up on its first request (hundreds of ms, which real IAM does
    not have): make that request here, before the function runs, so that it is not counted."""
    host, port = urllib.parse.urlsplit(endpoint).netloc.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request(
        "POST",
        "/",
        "Action=ListRoles&Version=2010-05-08&MaxItems=1",
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": f"AWS4-HMAC-SHA256 Credential={account}/20260101/us-east-1/iam/"
            "aws4_request, SignedHeaders=host, Signature=0",
        },
    )
    response = conn.getresponse()
    response.read()
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"LocalStack IAM ListRoles: HTTP {response.status}")


def peak_rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for {pid}")


def cold_start(api, impl, warm_count, endpoint, log_dir):
    """One process: init, a first event (creates the role), `warm_count` more (skip path)."""
    account = str(random.randrange(10**11, 10**12))  # a fresh LocalStack account
    env = {
        "PATH": os.environ["PATH"],
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "AWS_LAMBDA_FUNCTION_NAME": FUNCTION_NAME,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{FUNCTION_NAME}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]bench",
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": account,
        "AWS_SECRET_ACCESS_KEY": "test",
        "UPSERT_SLR_EXTRA_RESPONSE_URL_PREFIXES": f"{endpoint}/{cfn_response.BUCKET}/",
        **impl.env,
    }
    open_account(endpoint, account)
    log_path = log_dir / f"{impl.name}.log"
    with open(log_path, "ab") as log:
        api.serve()
        started = now_ms()
        proc = subprocess.Popen(impl.command, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        try:
            while api.first_next is None:  # init: until it waits for its first event
                if proc.poll() is not None:
                    raise RuntimeError(f"{impl.name} exited during init; log: {log_path}")
                time.sleep(0.0002)
            init_cpu = cpu_ms(proc.pid)
            timings = []
            for n in range(1 + warm_count):
                if n == 1:
                    warm_cpu = cpu_ms(proc.pid)
                key = f"bench/{impl.name}/{account}/{n}"
                handed, posted, kind, body = api.invoke(event(key, f"req-{n}"))
                timings.append(posted - handed)
                answer = cfn_response.fetch(key)
                if kind != "response" or not answer or answer.get("Status") != "SUCCESS":
                    raise RuntimeError(
                        f"{impl.name}: invocation {n} ended with /{kind} {body[:300]!r}, "
                        f"answer {answer}; log: {log_path}"
                    )
            warm_cpu = (cpu_ms(proc.pid) - warm_cpu) / warm_count
            rss = peak_rss_kb(proc.pid)
        finally:
            proc.kill()
            proc.wait()
    impl.init.append(api.first_next - started)
    impl.init_cpu.append(init_cpu)
    impl.first.append(timings[0])
    impl.warm.extend(timings[1:])
    impl.warm_cpu.append(warm_cpu)
    impl.rss_mib.append(rss / 1024)


def cpu_ms(pid):
    """CPU time the process has used so far, all its threads (from the scheduler, in ns)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):  # a thread that just ended
            total += int((task / "schedstat").read_text().split()[0])
    return total / 1e6


def anchor_zips(anchor_dir, out_dir):
    """The anchor's deployment zips: its handler alone (what its construct deploys, relying on
    the SDK the Node.js runtime bundles), and with the node_modules it requires."""
    handler = anchor_dir / "node_modules/upsert-slr/lambda/dist/index.js"
    alone, bundled = out_dir / "anchor-handler.zip", out_dir / "anchor-with-sdk.zip"
    with zipfile.ZipFile(alone, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(handler, "index.js")
    with zipfile.ZipFile(bundled, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(handler, "index.js")
        for path in sorted((anchor_dir / "node_modules").rglob("*")):
            rel = path.relative_to(anchor_dir)
            if path.is_file() and not rel.parts[1].startswith(".") and rel.parts[1] != "upsert-slr":
                z.write(path, str(rel))
    return alone.stat().st_size, bundled.stat().st_size


BEGIN, END = "<!-- bench/bench.py writes from here -->", "<!-- to here -->"


def write_report(path, report):
    """Replaces the generated part of `path`, keeping what is written around it."""
    text = path.read_text() if path.exists() else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{path} lacks the markers {BEGIN} and {END}")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    path.write_text(f"{head}{BEGIN}\n{report}{END}{tail}")


def median(values):
    return statistics.median(values)


def num(value):
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def spread(values):
    return f"{num(min(values))}–{num(max(values))}"


def run_text(command):
    try:
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine():
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(re.search(r"MemTotal:\s+(\d+)", f.read()).group(1))
    return f"{os.cpu_count()} cores, {cpu}, {mem_kb / 1024 / 1024:.0f} GiB, {platform.system()} {platform.release()}"


FIGURES = (
    ("init", "init", "ms"),
    ("init CPU time", "init_cpu", "ms"),
    ("first invocation", "first", "ms"),
    ("warm invocation", "warm", "ms"),
    ("CPU time per warm invocation", "warm_cpu", "ms"),
    ("peak RSS", "rss_mib", "MiB"),
)


def run(impls, cold, warm, endpoint):
    """Cold starts of each implementation, interleaved, the order reversed every other round."""
    cfn_response.ENDPOINT = endpoint
    cfn_response.ensure_bucket()
    api = RuntimeApi()
    log_dir = Path(tempfile.mkdtemp(prefix="upsert-slr-bench-"))
    # One round that is not counted: the first start of each reads its files from disk.
    for impl in impls:
        cold_start(api, Implementation(impl.name, impl.command, impl.env), 1, endpoint, log_dir)
    for i in range(cold):
        for impl in impls if i % 2 == 0 else impls[::-1]:
            cold_start(api, impl, warm, endpoint, log_dir)
        print(
            f"cold start {i + 1}/{cold}: init " + ", ".join(f"{impl.name} {impl.init[-1]:.1f} ms" for impl in impls),
            file=sys.stderr,
        )
    api.shutdown()
    return log_dir


def compare_builds(variants, args):
    """--variant NAME=BINARY...: builds of this function side by side (what a change bought)."""
    impls = []
    for variant in variants:
        name, binary = variant.split("=", 1)
        impls.append(Implementation(name, [str(Path(binary).resolve())], {"UPSERT_SLR_RESPONSE_MODE": "direct"}))
    run(impls, args.cold, args.warm, args.endpoint)
    print("| figure (median) | " + " | ".join(impl.name for impl in impls) + " |")
    print("|---|" + "---:|" * len(impls))
    for label, attr, unit in FIGURES:
        cells = " | ".join(num(median(getattr(impl, attr))) for impl in impls)
        print(f"| {label} ({unit}) | {cells} |")
    sizes = " | ".join(f"{Path(b.split('=', 1)[1]).stat().st_size / 1e6:.2f}" for b in variants)
    print(f"| binary (MB) | {sizes} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--endpoint", required=True, help="LocalStack")
    parser.add_argument("--ours", help="the function binary (bootstrap)")
    parser.add_argument("--arch", default="x86_64", help="the architecture of --ours")
    parser.add_argument("--ours-zip", help="its deployment zip")
    parser.add_argument("--ours-zip-other", help="the other architecture's zip, if built")
    parser.add_argument("--other-arch", default="arm64")
    parser.add_argument("--anchor-dir", help="where the npm package is installed")
    parser.add_argument(
        "--variant",
        action="append",
        metavar="NAME=BINARY",
        help="instead of ours and the anchor: builds of ours side by side",
    )
    parser.add_argument("--cold", type=int, default=20, help="cold starts per implementation")
    parser.add_argument("--warm", type=int, default=5, help="warm invocations per cold start")
    parser.add_argument("--versions", default="", help="extra 'name version' lines, ';'-separated")
    parser.add_argument("--command", default="make bench", help="how this run was started")
    parser.add_argument("--markdown", help="write the report here")
    args = parser.parse_args()
    if args.variant:
        return compare_builds(args.variant, args)
    if not (args.ours and args.anchor_dir):
        parser.error("--ours and --anchor-dir are needed (or --variant)")

    anchor_dir = Path(args.anchor_dir).resolve()
    ours = Implementation("ours", [str(Path(args.ours).resolve())], {"UPSERT_SLR_RESPONSE_MODE": "direct"})
    anchor = Implementation("anchor", ["node", str(anchor_dir / "runtime.js")], {})
    log_dir = run([ours, anchor], args.cold, args.warm, args.endpoint)

    alone, bundled = anchor_zips(anchor_dir, log_dir)
    rows = []  # (figure, anchor, ours, ratio, anchor range, ours range)
    for label, attr, unit in FIGURES:
        a, o = getattr(anchor, attr), getattr(ours, attr)
        rows.append(
            (
                f"{label} (median of {len(o)}, {unit})",
                num(median(a)),
                num(median(o)),
                median(a) / median(o),
                spread(a),
                spread(o),
            )
        )
    for arch, path in ((args.arch, args.ours_zip), (args.other_arch, args.ours_zip_other)):
        if path:
            size = Path(path).stat().st_size
            rows.append(
                (f"deployment zip, {arch} (MB)", f"{bundled / 1e6:.2f}", f"{size / 1e6:.2f}", bundled / size, "", "")
            )

    table = [
        "| figure | anchor (npm upsert-slr) | ours | anchor/ours | anchor range | ours range |",
        "|---|---:|---:|---:|---|---|",
    ]
    table += [f"| {f} | {a} | {o} | **{r:.1f}×** | {ar} | {orr} |" for f, a, o, r, ar, orr in rows]
    print("\n".join(table))

    if args.markdown:
        versions = [run_text(["rustc", "-V"]), f"node {run_text(['node', '-v'])}"]
        versions += [v.strip() for v in args.versions.split(";") if v.strip()]
        other = (
            f"{args.other_arch} too"
            if args.ours_zip_other
            else f"{args.other_arch} is built only where its Rust target is installed, and was not"
        )
        report = f"""upsert-slr against the npm package `upsert-slr` it replaces (its Lambda
handler, `lambda/dist/index.js`, on Node.js with `@aws-sdk/client-iam`), both driven by the same
Lambda Runtime API and the same LocalStack (IAM and S3) on one machine, interleaved.

Reproduce: `{args.command}` (installs what it needs, pinned; `make bench-quick` for a short run).

{chr(10).join(table)}

- **init**: process start → its first request to `/next`. For the anchor this includes loading
  its handler module and the IAM client it builds, as in Lambda's init phase.
- **first invocation**: the event handed out → the result posted, on the cold process's first
  event. Each cold start works in a fresh LocalStack account, so this event creates the role
  (`waitTimeSeconds` 0) and answers CloudFormation with a PUT to a presigned S3 URL. LocalStack
  sets an account up on its first request, which takes it hundreds of milliseconds and real IAM
  does not: the harness makes that request (`ListRoles`) before starting the process.
- **warm invocation**: the same measure on the {args.warm} events after it in each process; the
  role exists. The npm package calls `CreateServiceLinkedRole`, is told the role has been
  taken, and answers SUCCESS; ours reads the role it learned the name of on the first event
  (`GetRole`, which gives the ARN it returns) and answers SUCCESS.
- **CPU time**: what the process's threads spent on a CPU (from `/proc/<pid>/task/*/schedstat`),
  until it first waits for an event (init), and over its warm invocations, divided by their
  number. Unlike the wall times, it leaves out the time spent waiting for LocalStack.
- **peak RSS**: `VmHWM` of the process after its events.
- **zip**: ours is the release zip, as `make dist` writes it ({args.arch}; {other}, measured
  for its size only: here it would run under emulation, whose timings mean nothing), and the binary
  measured above is the `bootstrap` in that zip. The anchor's is its `index.js`
  with the `node_modules` it requires (`@aws-sdk/client-iam` and its dependencies), deflated.
  Its CDK construct deploys `index.js` alone, inline ({alone / 1024:.1f} KiB), and relies on the
  SDK bundled in the Node.js runtime, which is then not in the zip but is still loaded at init.
- Each figure is the median of {args.cold} cold starts per implementation ({args.cold * args.warm}
  warm invocations); ranges are min–max. One uncounted round first warms the file cache. Both
  run with the same environment: `AWS_ENDPOINT_URL`, a 12-digit LocalStack account as access
  key, region `us-east-1`; ours in `direct` mode with the LocalStack bucket as an allowed
  ResponseURL prefix. The anchor runs under `bench/anchor/runtime.js`, a minimal runtime loop
  (poll `/next`, call `handler(event, context)`, post `/response` or `/error`).

Timings on a shared machine are noisy: compare the ratios, measured in one run, rather than
absolute times. This run:

- machine: {machine()}
{chr(10).join("- " + v for v in versions)}
"""
        write_report(Path(args.markdown), report)
        print(f"wrote {args.markdown}", file=sys.stderr)


if __name__ == "__main__":
    main()
