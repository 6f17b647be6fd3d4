#!/usr/bin/env python3
"""Plays CloudFormation's side of a custom resource against LocalStack S3, standard library only.

presign KEY            a presigned PUT URL for KEY (S3 signature version 2, as CloudFormation
                       makes them: the signature covers an empty Content-Type)
event IN KEY [K=V ...] IN with a fresh ResponseURL for KEY; K=V sets top-level fields, and
                       Props.K=V resource properties
fetch KEY              what the function PUT at KEY (what CloudFormation would read)
"""

import base64
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

ENDPOINT = os.environ.get("LOCALSTACK_ENDPOINT", "http://127.0.0.1:4566")
BUCKET = "cfn-responses"


def presign(key, valid_for=600):
    expires = int(time.time()) + valid_for
    to_sign = f"PUT\n\n\n{expires}\n/{BUCKET}/{key}".encode()
    sig = base64.b64encode(hmac.new(b"test", to_sign, hashlib.sha1).digest()).decode()
    query = urllib.parse.urlencode({"AWSAccessKeyId": "test", "Expires": expires, "Signature": sig})
    return f"{ENDPOINT}/{BUCKET}/{key}?{query}"


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
