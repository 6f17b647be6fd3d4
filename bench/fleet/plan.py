"""Which fleets make fleet runs, read from the variables a user sets; what would fail only after
the build (minutes later, as a traceback) is refused first, in a sentence naming the variable.

  FLEET_SIZES      fleets one after another: ACCOUNTSxREGIONS, comma-separated (3x2,10x2), the
                   regions a count or names joined by + (3xus-east-1+ap-southeast-2)
  FLEET_ACCOUNTS   the accounts of one fleet, 3 or more (default 10)
  FLEET_REGIONS    its regions: a count (default 2) or names, comma-separated
  FLEET_MARKDOWN   the file the figures go into

    python -m fleet.plan    prints the fleets as FLEET_SIZES would give them
"""

import os
import re
import sys
from pathlib import Path
from typing import NamedTuple

# A count of regions takes them in this order.
REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2", "eu-central-1", "sa-east-1"]
# One account per seeded case: a role made long ago, one made just before, a narrow function.
MIN_ACCOUNTS = 3
# What the rig rewrites of FLEET_MARKDOWN: the lines between these two.
MARKDOWN_START, MARKDOWN_END = "<!-- bench/fleet writes from here -->", "<!-- to here -->"


class Refused(Exception):
    """An input the rig cannot run with; the message says which and what it takes."""


class Size(NamedTuple):
    accounts: int
    regions: tuple[str, ...]

    def __str__(self) -> str:
        count = len(self.regions)
        regions = str(count) if self.regions == tuple(REGIONS[:count]) else "+".join(self.regions)
        return f"{self.accounts}x{regions}"


def known_regions() -> set[str]:
    # Here, not at the top: only a named region needs botocore's list.
    import botocore.session

    return set(botocore.session.get_session().get_available_regions("cloudformation"))


def parse_accounts(name: str, text: str) -> int:
    if not re.fullmatch(r"[0-9]{1,6}", text) or int(text) < MIN_ACCOUNTS:
        raise Refused(f"{name}={text}: give a number of accounts, {MIN_ACCOUNTS} or more (one per seeded case)")
    return int(text)


def parse_regions(name: str, text: str, separators: str = r"[,+\s]+") -> tuple[str, ...]:
    if re.fullmatch(r"[0-9]+", text):
        if not 1 <= int(text) <= len(REGIONS):
            raise Refused(
                f"{name}={text}: a count of regions is 1 to {len(REGIONS)} ({', '.join(REGIONS)}, in "
                f"that order); name the regions to have others"
            )
        return tuple(REGIONS[: int(text)])
    names = tuple(n for n in re.split(separators, text) if n)
    if not names:
        raise Refused(f"{name}={text}: give a number of regions or their names, like us-east-1,eu-west-1")
    unknown = [n for n in names if n not in known_regions()]
    if unknown:
        raise Refused(f"{name}={text}: {', '.join(unknown)} is not a region CloudFormation has (like us-east-1)")
    if len(set(names)) != len(names):
        raise Refused(f"{name}={text}: each region once")
    return names


def parse_sizes(text: str) -> list[Size]:
    sizes = []
    for item in (i for i in re.split(r"[,\s]+", text) if i):
        match = re.fullmatch(r"([^xX×]*)[xX×](.*)", item)
        if not match:
            raise Refused(f"FLEET_SIZES={text}: {item} is not ACCOUNTSxREGIONS, like 3x2 or 3xus-east-1+eu-west-1")
        accounts, regions = match.groups()
        sizes.append(
            Size(
                parse_accounts(f"FLEET_SIZES={text}: in {item}, ACCOUNTS", accounts),
                parse_regions(f"FLEET_SIZES={text}: in {item}, REGIONS", regions, r"\+"),
            )
        )
    if not sizes:
        raise Refused(f"FLEET_SIZES={text}: give ACCOUNTSxREGIONS, like 3x2")
    return sizes


def from_environment(env) -> list[Size]:
    sizes, accounts, regions = (env.get(n, "").strip() for n in ("FLEET_SIZES", "FLEET_ACCOUNTS", "FLEET_REGIONS"))
    if sizes and (accounts or regions):
        raise Refused(
            "FLEET_SIZES gives every fleet its accounts and regions: set it alone, or FLEET_ACCOUNTS "
            "and FLEET_REGIONS without it (make fleet-quick and make fleet-scale set FLEET_SIZES)"
        )
    if sizes:
        return parse_sizes(sizes)
    return [Size(parse_accounts("FLEET_ACCOUNTS", accounts or "10"), parse_regions("FLEET_REGIONS", regions or "2"))]


def check_markdown(text: str) -> None:
    """FLEET_MARKDOWN is written after every fleet ran: a file that cannot take the figures
    would lose them."""
    path = Path(text)
    if path.is_dir():
        raise Refused(f"FLEET_MARKDOWN={text} is a directory: name the file the figures go into, like FLEET.md")
    if not path.parent.is_dir():
        raise Refused(f"FLEET_MARKDOWN={text}: there is no directory {path.parent} to write it in")
    if path.exists():
        after = path.read_text().partition(MARKDOWN_START)[2]
        if MARKDOWN_END not in after:
            raise Refused(
                f"FLEET_MARKDOWN={text} has no lines {MARKDOWN_START} and {MARKDOWN_END} for the "
                f"figures to go between: add them, or name a new file"
            )


def main() -> int:
    try:
        sizes = from_environment(os.environ)
        if os.environ.get("FLEET_MARKDOWN"):
            check_markdown(os.environ["FLEET_MARKDOWN"])
    except Refused as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(",".join(str(s) for s in sizes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
