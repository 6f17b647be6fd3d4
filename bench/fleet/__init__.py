"""A fleet on one machine: the function, then the role baseline, deployed through LocalStack's
self-managed StackSets (CreateStackSet, then CreateStackInstances over Accounts x Regions) into
many accounts and regions at once; what must hold is checked, the fleet torn down, and the cost
measured. Run by scripts/workshop/deploy.py (`make fleet`), with the LocalStack venv's Python (boto3):

    python -m fleet --endpoint URL --state DIR --release-template T --zip Z --version V
                        --sizes 3x2,10x2 [--markdown FLEET.md]

plan.py reads which fleets to run from FLEET_SIZES, FLEET_ACCOUNTS and FLEET_REGIONS (region
counts or names), stacksets.py deploys and tears down one fleet, checks.py says what must hold
of it, sampler.py watches the function processes, report.py turns the figures into a table.

What LocalStack 4.13.1's StackSets leave out, and how this rig stands in for it (in the rig's
copies of the templates only, made at run time; the product templates are not changed):

- A StackSet's Parameters and an instance's ParameterOverrides are not passed on: every instance
  gets its template's defaults. So the rig deploys copies whose defaults are the values a real
  StackSet would pass (the code bucket, x86_64, LocalStack's ResponseURL prefix, a short
  propagation wait), and passes the same values as StackSet parameters as well.
- A per-region override (each region's code bucket) has no default that could express it: the
  rig's copy of the release template reads the zip from `<CodeS3Bucket>-<region>`, which is the
  bucket a real deployment would name in that region's override.
- One account with a narrower AllowedServices, and one registering the function as a Lambda
  Hook (each a ParameterOverrides of one account on AWS), get a StackSet of their own, with a
  copy whose defaults say so; and one account's baseline comes from a copy whose RemovalPolicy default is Delete, so that the teardown proves
  what Delete removes, next to the Retain the baseline defaults to everywhere else.
- ListStackInstances does not work: each instance is read as the stack
  `sset-<StackSet>-<account>-<region>` in its account and region.
- CreateStackInstances answers only once every instance completed (an instance that fails makes
  it answer an error): it runs in a thread while the rig reads the instances itself.
"""

import sys


def say(text: str) -> None:
    print(f"\033[1m==> {text}\033[0m", file=sys.stderr, flush=True)


class Breach(Exception):
    """What must hold of a fleet did not; the message says what broke."""
