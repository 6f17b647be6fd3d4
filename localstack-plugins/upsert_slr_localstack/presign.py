"""Presigned S3 PUT URLs, the form CloudFormation gives a custom resource as its ResponseURL:
path style, signature version 4 in the query, only the host signed (so the PUT may carry any
Content-Type, and an empty one). LocalStack checks these signatures as S3 does.

Standard library only, and nothing of LocalStack imported: the custom-resource bridge signs with
it inside LocalStack, and the test rig (tests/rig/cfn_response.py) with no LocalStack installed.
"""

import datetime
import hashlib
import hmac
import urllib.parse

ALGORITHM = "AWS4-HMAC-SHA256"


def presigned_put(
    endpoint: str,
    bucket: str,
    key: str,
    expires_in: int,
    *,
    access_key: str = "test",
    secret_key: str = "test",
    region: str = "us-east-1",
    now: datetime.datetime | None = None,
) -> str:
    """A URL that lets whoever holds it PUT `key` into `bucket` at `endpoint` for `expires_in`
    seconds from `now`. LocalStack takes a 12-digit `access_key` for the account the bucket is in."""
    now = now or datetime.datetime.now(datetime.UTC)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    day = stamp[:8]
    scope = f"{day}/{region}/s3/aws4_request"
    split = urllib.parse.urlsplit(endpoint.rstrip("/"))
    # The Host header a client sends leaves a scheme's own port out.
    host = split.netloc.removesuffix({"http": ":80", "https": ":443"}.get(split.scheme, ""))
    # S3 signs the path as sent: the key encoded once, its slashes kept.
    path = f"{split.path}/{bucket}/{urllib.parse.quote(key, safe='/~')}"
    query = {
        "X-Amz-Algorithm": ALGORITHM,
        "X-Amz-Credential": f"{access_key}/{scope}",
        "X-Amz-Date": stamp,
        "X-Amz-Expires": str(expires_in),
        "X-Amz-SignedHeaders": "host",
    }
    canonical_query = "&".join(f"{_quote(k)}={_quote(v)}" for k, v in sorted(query.items()))
    canonical_request = f"PUT\n{path}\n{canonical_query}\nhost:{host}\n\nhost\nUNSIGNED-PAYLOAD"
    to_sign = f"{ALGORITHM}\n{stamp}\n{scope}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"
    signing_key = f"AWS4{secret_key}".encode()
    for part in (day, region, "s3", "aws4_request"):
        signing_key = hmac.new(signing_key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(signing_key, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"{split.scheme}://{split.netloc}{path}?{canonical_query}&X-Amz-Signature={signature}"


def _quote(value: str) -> str:
    return urllib.parse.quote(value, safe="-_.~")
