#!/usr/bin/env python3
"""Plays CloudFormation's side of a custom resource against LocalStack S3, standard library only
(the presigner is the LocalStack plugins' own, which needs nothing else either).

presign KEY            a presigned PUT URL for KEY (path style, signature version 4 in the query,
                       as CloudFormation makes them and the plugins' custom-resource bridge too)
event IN KEY [K=V ...] IN with a fresh ResponseURL for KEY; K=V sets top-level fields, and
                       Props.K=V resource properties
fetch KEY              what the function PUT at KEY (what CloudFormation would read)
"""

import json
import os
import sys
import urllib.error
import urllib.request

from upsert_slr_localstack.presign import presigned_put

ENDPOINT = os.environ.get("LOCALSTACK_ENDPOINT", "http://127.0.0.1:4566")
BUCKET = "cfn-responses"


def presign(key, valid_for=600):
    # ENDPOINT is read here, not bound at import: a caller may point it at another LocalStack.
    return presigned_put(ENDPOINT, BUCKET, key, valid_for)


def ensure_bucket():
    req = urllib.request.Request(f"{ENDPOINT}/{BUCKET}", method="PUT")
    try:
        urllib.request.urlopen(req)
    except urllib.error.HTTPError as e:
        if e.code != 409:
            raise


def event(path, key, settings):
    with open(path) as f:
        ev = json.load(f)
    ev["ResponseURL"] = presign(key)
    for setting in settings:
        name, value = setting.split("=", 1)
        if name.startswith("Props."):
            ev["ResourceProperties"][name[len("Props.") :]] = value
        else:
            ev[name] = value
    return ev


def fetch(key):
    try:
        with urllib.request.urlopen(f"{ENDPOINT}/{BUCKET}/{key}") as resp:
            return json.load(resp)
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise


def main(argv):
    command = argv[1] if len(argv) > 1 else ""
    if command == "presign":
        print(presign(argv[2]))
    elif command == "event":
        ensure_bucket()
        json.dump(event(argv[2], argv[3], argv[4:]), sys.stdout, indent=2)
    elif command == "fetch":
        answer = fetch(argv[2])
        if answer is None:
            print("(nothing was PUT: CloudFormation would still be waiting)")
            return 1
        json.dump(answer, sys.stdout, indent=2)
        print()
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
