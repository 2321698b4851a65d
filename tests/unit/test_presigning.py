"""Presigned S3 access of shared/storage (issue: safety of data access): every URL is for one
object and one method and expires within 15 minutes; an upload slot's POST policy allows one
key and exactly the announced size. moto does not check signatures, so each URL is verified
here the way S3 does: the signature is recomputed with botocore's signer from what a client
would send, and a changed key or method gives another signature, which S3 refuses."""

import base64
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit, urlunsplit

import boto3
import pytest
from botocore.auth import S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from shared import aws, storage

ACCESS, SECRET, REGION, BUCKET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "media-bucket"
KEY = "uploads/7/abc123/dir/clip one.mp4"


@pytest.fixture(autouse=True)
def signer_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Known credentials and bucket, no endpoint: presigning is local, no request is sent."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setattr(storage, "bucket", lambda: BUCKET)
    # boto3's default session keeps the credentials it resolved first (another test's, in a worker)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    aws.reset()
    yield
    aws.reset()


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def s3_accepts(url: str, method: str) -> bool:
    """S3's check of a presigned URL: the signature recomputed from the request as received
    (method, path, query without the signature, host) must equal the one in the URL."""
    parts = urlsplit(url)
    pairs = parts.query.split("&")
    given = _query(url)
    unsigned = urlunsplit(parts._replace(query="&".join(p for p in pairs if not p.startswith("X-Amz-Signature="))))
    request = AWSRequest(method=method, url=unsigned)
    request.context["timestamp"] = given["X-Amz-Date"]
    signer = S3SigV4QueryAuth(Credentials(ACCESS, SECRET), "s3", REGION, expires=int(given["X-Amz-Expires"]))
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    return hmac.compare_digest(expected, given["X-Amz-Signature"])


def policy_signature(policy: str, amz_date: str) -> str:
    """What S3 recomputes for a POST upload: the SigV4 signature of the base64 policy."""
    request = AWSRequest(method="POST", url=f"https://{BUCKET}.s3.amazonaws.com/")
    request.context["timestamp"] = amz_date
    return str(SigV4Auth(Credentials(ACCESS, SECRET), "s3", REGION).signature(policy, request))


def _changed(url: str, old: str, new: str) -> str:
    changed = url.replace(old, new)
    assert changed != url, f"{old} is not in {url}"
    return changed


def _encode(policy: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(policy).encode()).decode()


def test_no_presigned_url_lives_longer_than_15_minutes() -> None:
    assert storage.PRESIGN_SECONDS <= 900
    for url in (storage.presigned_get(KEY), storage.presigned_get(KEY, filename="a.zip", content_type="x/y"),
                storage.presigned_put_any(KEY)):
        query = _query(url)
        assert 0 < int(query["X-Amz-Expires"]) <= 900
        assert query["X-Amz-SignedHeaders"] == "host"  # nothing a client could vary unsigned but the body


def test_a_get_url_works_for_its_key_and_method_only() -> None:
    url = storage.presigned_get(KEY)
    assert urlsplit(url).path.endswith("/" + quote(KEY))
    assert s3_accepts(url, "GET")  # the check reproduces the signing logic
    for method in ("PUT", "POST", "DELETE", "HEAD"):
        assert not s3_accepts(url, method), method
    for other in ("uploads/7/abc123/dir/other.mp4", "uploads/8/abc123/dir/clip one.mp4", "data/1/manifest.json"):
        assert not s3_accepts(_changed(url, quote(KEY), quote(other)), "GET"), other


def test_a_download_name_cannot_be_changed() -> None:
    url = storage.presigned_get(KEY, filename="task.zip", content_type="application/zip")
    assert s3_accepts(url, "GET")
    assert not s3_accepts(_changed(url, "task.zip", "evil.html"), "GET")
    assert not s3_accepts(_changed(url, "application%2Fzip", "text%2Fhtml"), "GET")


def test_a_document_put_url_works_for_its_key_and_method_only() -> None:
    url = storage.presigned_put_any(KEY)
    assert s3_accepts(url, "PUT")
    assert not s3_accepts(url, "GET") and not s3_accepts(url, "DELETE")
    assert not s3_accepts(_changed(url, quote(KEY), quote("uploads/7/abc123/x.json")), "PUT")


def test_an_upload_slot_policy_allows_one_key_and_exactly_the_announced_size() -> None:
    slot = storage.presigned_post(KEY, 12345)
    fields = slot["fields"]
    assert urlsplit(slot["url"]).path in ("/", f"/{BUCKET}/") and fields["key"] == KEY
    policy = json.loads(base64.b64decode(fields["policy"]))
    conditions = policy["conditions"]
    assert {"key": KEY} in conditions and {"bucket": BUCKET} in conditions
    assert ["content-length-range", 12345, 12345] in conditions
    assert not any(isinstance(c, list) and c[0] == "starts-with" for c in conditions)  # no key prefix, no wildcard
    expires = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert timedelta(0) < expires - datetime.now(UTC) <= timedelta(seconds=900)
    assert fields["x-amz-signature"] == policy_signature(fields["policy"], fields["x-amz-date"])


@pytest.mark.parametrize("change", [
    lambda c: {"key": "uploads/7/abc123/other.mp4"} if c == {"key": KEY} else c,
    lambda c: ["content-length-range", 0, 10**12] if isinstance(c, list) and c[0] == "content-length-range" else c,
    lambda c: ["starts-with", "$key", "uploads/"] if c == {"key": KEY} else c,
], ids=["another key", "another size", "any key"])
def test_a_changed_policy_is_refused(change: Any) -> None:
    """A client cannot widen its slot: the policy is signed, and S3 checks the upload against the
    policy it received; a rewritten policy no longer matches the signature."""
    fields = storage.presigned_post(KEY, 12345)["fields"]
    policy = json.loads(base64.b64decode(fields["policy"]))
    widened = _encode({**policy, "conditions": [change(c) for c in policy["conditions"]]})
    assert widened != fields["policy"]
    assert policy_signature(widened, fields["x-amz-date"]) != fields["x-amz-signature"]
