"""The stdlib presigner against botocore's: the same URL, signature included, for the keys a
ResponseURL carries (a stack ARN with `|`, spaces) and for endpoints with and without their
scheme's own port; and against LocalStack's S3, which checks the signature as S3 does."""

import datetime
import urllib.error
import urllib.parse
import urllib.request

import boto3
import pytest
from botocore.config import Config

from upsert_slr_localstack.presign import presigned_put


@pytest.mark.parametrize(
    "endpoint, access_key, region, key",
    [
        (
            "http://127.0.0.1:4566",
            "123456789012",
            "us-east-1",
            "arn:aws:cloudformation:us-east-1:123456789012:stack/app/6d3a|EcsRole|b6a3 c1d2+~*",
        ),
        ("http://localhost.localstack.cloud:4566", "test", "eu-west-1", "answers/a b"),
        ("https://s3.example:443", "test", "us-east-1", "key"),
    ],
)
def test_it_signs_as_botocore_does(endpoint, access_key, region, key):
    s3 = boto3.client(
        "s3",
        aws_access_key_id=access_key,
        aws_secret_access_key="test",
        region_name=region,
        endpoint_url=endpoint,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    theirs = urllib.parse.urlsplit(
        s3.generate_presigned_url("put_object", Params={"Bucket": "bkt", "Key": key}, ExpiresIn=7300)
    )
    their_query = dict(urllib.parse.parse_qsl(theirs.query))
    signed_at = datetime.datetime.strptime(their_query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
    ours = urllib.parse.urlsplit(
        presigned_put(endpoint, "bkt", key, 7300, access_key=access_key, region=region, now=signed_at)
    )
    assert (ours.scheme, ours.netloc, ours.path) == (theirs.scheme, theirs.netloc, theirs.path)
    assert dict(urllib.parse.parse_qsl(ours.query)) == their_query


def test_the_module_needs_neither_localstack_nor_boto():
    import ast
    import inspect

    from upsert_slr_localstack import presign

    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(ast.parse(inspect.getsource(presign)))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])
    }
    assert imported <= {"datetime", "hashlib", "hmac", "urllib"}, imported


def test_localstack_takes_a_put_with_an_empty_content_type_and_refuses_a_forged_one(cloud):
    bucket = f"presigned-{cloud.account}"
    cloud.s3.create_bucket(Bucket=bucket)
    key = "arn:aws:cloudformation:us-east-1:123456789012:stack/app/6d3a|EcsRole|b6a3"
    url = presigned_put(cloud.endpoint, bucket, key, 60, access_key=cloud.account)

    def put(url):
        request = urllib.request.Request(url, data=b"{}", method="PUT", headers={"Content-Type": ""})
        with urllib.request.urlopen(request) as response:
            return response.status

    assert put(url) == 200
    assert cloud.s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"{}"
    forged = url[:-1] + ("0" if url[-1] != "0" else "1")
    with pytest.raises(urllib.error.HTTPError) as refused:
        put(forged)
    assert refused.value.code == 403
