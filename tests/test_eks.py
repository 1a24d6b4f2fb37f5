"""``rolecall eks token``: the token replayed as the cluster's authenticator replays it,
against the sandbox's STS (through a front that checks presigned URLs as STS does); the
same checks passing on a token from ``aws eks get-token`` (AWS's own tool); the cache,
served without botocore, until a minute before the token's end; bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from profiles.eks import credential
from tests.eks_world import Refused, exec_credential, presigned_front, verify
from tests.helpers import assert_fails, chain_config, environ, ok_json

AWS = str(Path(sys.executable).with_name("aws"))


@pytest.fixture
def eks(world):
    chain_config(world)
    front = presigned_front(world)
    world.front = front
    world.hosts = {urlsplit(front.url).netloc}
    yield world
    front.stop()


def token_of(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0, proc.stderr
    return exec_credential(proc.stdout)


def faked(world, offset: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["faketime", "-f", offset, sys.executable, "-m", "tui", *args],
                          capture_output=True, text=True, env=environ(world), cwd=world.home,
                          timeout=120, stdin=subprocess.DEVNULL)


def test_the_token_is_one_the_authenticator_accepts(eks):
    doc = token_of(eks.run("eks", "token", "hop1", "--cluster", "prod"))
    assert doc["apiVersion"] == "client.authentication.k8s.io/v1beta1"
    token = doc["status"]["token"]
    arn = ok_json(eks.run("assume", "hop1", "--json"))["assumed_role_arn"]
    found = verify(token, "prod", eks.hosts)
    assert found["arn"] == arn  # STS says the token is hop1's session
    assert found["x_amz_expires"] == 60 and found["signed_headers"] == ["host", "x-k8s-aws-id"]
    stamp = doc["status"]["expirationTimestamp"]
    assert stamp == credential.iso(found["signed_at"] + 14 * 60)  # a minute before its end
    assert eks.front.verified[-1][2]["x-k8s-aws-id"] == "prod"
    with pytest.raises(Refused, match="SignatureDoesNotMatch"):
        verify(token, "staging", eks.hosts)  # the cluster's name is signed
    with pytest.raises(Refused, match="expired"):
        verify(token, "prod", eks.hosts, now=found["signed_at"] + 15 * 60 + 1)
    eks.front.clock = lambda: time.time() + 15 * 60 + 1  # and STS agrees
    with pytest.raises(Refused, match="Request has expired"):
        verify(token, "prod", eks.hosts)


def test_aws_eks_get_token_passes_the_same_checks(eks):
    """The checks above, proven against AWS's own tool: ``aws eks get-token`` run with
    hop1's session (``rolecall exec``) makes a token they accept, for the same identity;
    and rolecall's ExecCredential has the shape of the AWS CLI's."""
    ours = token_of(eks.run("eks", "token", "hop1", "--cluster", "prod"))
    theirs = token_of(eks.run("exec", "hop1", "--", AWS, "eks", "get-token", "--cluster-name",
                              "prod", "--output", "json"))
    assert theirs["apiVersion"] == ours["apiVersion"]
    mine, aws = (verify(d["status"]["token"], "prod", eks.hosts) for d in (ours, theirs))
    assert aws["arn"] == mine["arn"] and ":assumed-role/Hop1/" in aws["arn"]
    assert aws["x_amz_expires"] == mine["x_amz_expires"] == 60
    assert aws["signed_headers"] == mine["signed_headers"]
    aws_query, our_query = (sorted(dict(p.split("=", 1) for p in urlsplit(f["url"]).query
                                        .split("&"))) for f in (aws, mine))
    assert aws_query == our_query  # the same parameters, the same signing
    with pytest.raises(Refused, match="SignatureDoesNotMatch"):
        verify(theirs["status"]["token"], "staging", eks.hosts)


def test_a_cached_token_is_served_without_botocore(eks):
    first = token_of(eks.run("eks", "token", "hop1", "--cluster", "prod"))
    hot = subprocess.run([sys.executable, "-X", "importtime", "-m", "tui", "eks", "token",
                          "hop1", "--cluster=prod"], capture_output=True, text=True,
                         env=environ(eks), cwd=eks.home, timeout=60)
    assert hot.returncode == 0, hot.stderr
    assert json.loads(hot.stdout) == first
    modules = {line.split("|")[-1].strip() for line in hot.stderr.splitlines()
               if line.startswith("import time:")}
    assert "profiles.eks.credential" in modules
    heavy = {m for m in modules if m.split(".")[0] in (
        "botocore", "boto3", "keyring", "secretstorage", "argparse", "textual", "yaml",
        "tomllib", "platformdirs")}
    assert not heavy, heavy
    listed = [s for s in ok_json(eks.run("sessions", "--json")) if s["kind"] == "eks"]
    assert [(s["role"], s["state"]) for s in listed] == [("hop1", "active")]
    other = token_of(eks.run("eks", "token", "hop1", "--cluster", "staging"))
    assert other["status"]["token"] != first["status"]["token"]
    assert verify(other["status"]["token"], "staging", eks.hosts)["arn"] == verify(
        first["status"]["token"], "prod", eks.hosts)["arn"]


def test_the_cache_serves_a_token_until_a_minute_before_its_end(eks):
    first = token_of(eks.run("eks", "token", "hop1", "--cluster", "prod"))["status"]
    later = token_of(faked(eks, "+12m", "eks", "token", "hop1", "--cluster", "prod"))
    assert later["status"] == first  # 3 minutes left: the same token
    full = token_of(faked(eks, "+13m", "eks", "token", "hop1", "--cluster", "prod", "--debug"))
    assert full["status"] == first  # the full path serves it too
    fresh = token_of(faked(eks, "+14m10s", "eks", "token", "hop1", "--cluster", "prod"))
    assert fresh["status"]["token"] != first["token"]  # 50 s left: a new one
    assert fresh["status"]["expirationTimestamp"] > first["expirationTimestamp"]


def test_forget_drops_the_token_and_a_config_change_makes_a_new_one(eks):
    first = token_of(eks.run("eks", "token", "hop1", "--cluster", "prod"))["status"]["token"]
    assert eks.run("forget", "hop1").returncode == 0
    assert not [s for s in ok_json(eks.run("sessions", "--json")) if s["kind"] == "eks"]
    second = token_of(eks.run("eks", "token", "hop1", "--cluster", "prod"))["status"]["token"]
    assert second != first
    text = eks.config.read_text()  # hop1 now names Hop2's role: a token never outlives it
    eks.write_config(text.replace(f"role_arn = {eks.moto.create_role('111111111111', 'Hop1')}",
                                  f"role_arn = {eks.moto.create_role('111111111111', 'Other')}"))
    third = token_of(eks.run("eks", "token", "hop1", "--cluster", "prod"))["status"]["token"]
    assert third != second and ":assumed-role/Other/" in verify(third, "prod", eks.hosts)["arn"]


def test_kubectl_asks_for_an_api_version(eks):
    v1 = json.dumps({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                     "spec": {"interactive": False}})
    for extra in ((), ("--debug",)):  # the fast path (after the first), then the full one
        for info, want in ((v1, "client.authentication.k8s.io/v1"),
                           ("{not json", credential.API), ('{"apiVersion": "x"}', credential.API)):
            out = eks.run("eks", "token", "hop1", "--cluster", "prod", *extra,
                          env={"KUBERNETES_EXEC_INFO": info})
            assert token_of(out)["apiVersion"] == want, (info, extra)


@pytest.mark.parametrize("args, needle", [
    (["--cluster", ""], "invalid cluster name"),
    (["--cluster", "a b"], "invalid cluster name"),
    (["--cluster", "x\ny"], "invalid cluster name"),
    (["--cluster", "../etc"], "invalid cluster name"),
    (["--cluster", "é"], "invalid cluster name"),
    (["--cluster", "c" * 101], "invalid cluster name"),
    (["--cluster", "prod", "--region", "us east"], "invalid --region"),
    (["--cluster", "prod", "--region", ""], "invalid --region"),
    ([], "--cluster"),
])
def test_bad_input_is_one_line(offline_world, args, needle):
    chain_config_offline(offline_world)
    assert_fails(offline_world.run("eks", "token", "hop1", *args), 2, needle)


def test_an_unknown_role_is_exit_2(offline_world):
    chain_config_offline(offline_world)
    assert_fails(offline_world.run("eks", "token", "nope", "--cluster", "prod"), 2, "nope")


def chain_config_offline(world) -> None:
    world.write_config("[profile base]\naws_access_key_id = AKIA0\naws_secret_access_key = x\n"
                       "[profile hop1]\nrole_arn = arn:aws:iam::111111111111:role/Hop1\n"
                       "source_profile = base\n")
