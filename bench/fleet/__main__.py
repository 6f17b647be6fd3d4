"""make fleet: one fleet after another, each checked and torn down; the table, and FLEET.md."""

import argparse
import sys
from pathlib import Path

from fleet import Breach, plan, say
from fleet.checks import (
    check_baseline,
    check_fallbacks,
    check_functions,
    check_hook,
    check_no_function_left,
    check_teardown,
)
from fleet.report import markdown, measure, table
from fleet.sampler import Sampler
from fleet.stacksets import BASELINE_SET, DELETE_SET, FUNCTION_SET, HOOK_SET, NARROW_SET, Fleet


def run(fleet: Fleet) -> dict:
    fleet.sampler.reset()
    fleet.phase("seed", fleet.seed_phase)
    functions = fleet.phase("function", fleet.function_phase)
    check_functions(fleet, functions)
    baseline = fleet.phase("baseline", fleet.baseline_phase)
    fleet.phase("checks", check_baseline, fleet, baseline)
    hooked = fleet.phase("hook", fleet.hook_phase)
    check_hook(fleet, hooked)
    fleet.phase("baseline teardown", fleet.delete, [BASELINE_SET, DELETE_SET], baseline)
    check_teardown(fleet, baseline)
    fleet.phase("function teardown", fleet.delete, [FUNCTION_SET, NARROW_SET, HOOK_SET], functions)
    check_no_function_left(fleet)
    check_fallbacks(fleet, functions + baseline + hooked)
    measure(fleet, functions, baseline)
    return fleet.figures


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m fleet")
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--state", required=True, help="LocalStack's state directory (its tmp/ holds the code)")
    parser.add_argument("--release-template", required=True)
    parser.add_argument("--zip", required=True)
    parser.add_argument("--version", required=True)
    parser.add_argument("--sizes", required=True, help="ACCOUNTSxREGIONS, comma-separated, as FLEET_SIZES")
    parser.add_argument("--markdown")
    parser.add_argument("--about", action="append", default=[], help="a line about this run, for FLEET.md")
    args = parser.parse_args()
    try:
        sizes = plan.parse_sizes(args.sizes)
        if args.markdown:
            plan.check_markdown(args.markdown)
    except plan.Refused as e:
        parser.error(str(e))
    pid_file = Path(args.state) / "pid"
    sampler = Sampler(str(Path(args.state) / "tmp"), int(pid_file.read_text()) if pid_file.exists() else None)
    sampler.start()
    runs = []
    try:
        for size in sizes:
            say(f"fleet of {size.accounts} accounts × {len(size.regions)} regions ({', '.join(size.regions)})")
            runs.append(run(Fleet(args, size, sampler)))
            print(table(runs), flush=True)
    except Breach as e:
        print(f"BREACH: {e}", file=sys.stderr)
        sys.exit(1)
    if args.markdown:
        markdown(Path(args.markdown), runs, args.about)
        say(f"wrote {args.markdown}")


if __name__ == "__main__":
    main()
