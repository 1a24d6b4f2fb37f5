"""``rolecall eks kubeconfig``: the entry read back by a YAML parser and by ``kubectl
config view``; kubectl itself running ``rolecall eks token`` for a cluster that verifies
the token against the sandbox's STS; other entries kept; hostile names only ever
scalars; kubectl's own lock; odd files; the cluster described by EKS."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profiles.config.text import UNSAFE
from profiles.eks import kubeconfig
from profiles.errors import FileWriteError, UsageError
from tests.eks_world import ApiServer, presigned_front
from tests.helpers import assert_fails, chain_config, environ

EXAMPLES = int(os.environ.get("ROLECALL_PROPERTY_EXAMPLES", "60"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])
KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None and not os.environ.get("CI"),
                                   reason="kubectl is not installed (.ci/run installs it)")
SERVER = "https://ABC123.gr7.us-west-2.eks.amazonaws.com"
PEM = b"-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"


@pytest.fixture
def kube(world):
    chain_config(world)
    world.kubeconfig = world.home / "kube" / "config"
    world.env["KUBECONFIG"] = str(world.kubeconfig)
    return world


def kubectl(world, *args: str) -> subprocess.CompletedProcess:
    """kubectl with the world's environment and this venv's ``rolecall`` on PATH."""
    assert KUBECTL is not None, "kubectl is missing (.ci/run installs kubernetes-client)"
    env = environ(world, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
                  HOME=str(world.home))
    return subprocess.run([KUBECTL, *args], capture_output=True, text=True, env=env,
                          cwd=world.home, timeout=120, stdin=subprocess.DEVNULL)


def view(world) -> dict:
    out = kubectl(world, "config", "view", "--raw", "-o", "json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def by_name(items: list, name: str) -> dict:
    found = [i for i in items if i["name"] == name]
    assert len(found) == 1, (name, items)
    return found[0]


@needs_kubectl
def test_kubectl_gets_its_token_from_rolecall_and_the_cluster_accepts_it(kube):
    front = presigned_front(kube)
    api = ApiServer("prod", {urlsplit(front.url).netloc}, kube.home)
    try:
        out = kube.run("eks", "kubeconfig", "hop1", "--cluster", "prod", "--server", api.url,
                       "--ca-file", api.ca)
        assert out.returncode == 0, out.stderr
        assert "added context hop1@prod" in out.stdout
        answer = kubectl(kube, "get", "--raw", "/rolecall/whoami")
        assert answer.returncode == 0, answer.stderr
        assert ":assumed-role/Hop1/" in json.loads(answer.stdout)["arn"]
        again = kubectl(kube, "get", "--raw", "/rolecall/whoami")  # a cached token
        assert again.returncode == 0, again.stderr
        assert len(api.seen) >= 2 and len(set(api.seen)) == 1  # one token, from the cache
    finally:
        api.stop()
        front.stop()


@needs_kubectl
def test_the_entry_reads_back_and_other_entries_are_kept(kube):
    kube.kubeconfig.parent.mkdir()
    kube.kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "preferences": {"colors": True},
        "clusters": [{"name": "other", "cluster": {"server": "https://other.example"}}],
        "users": [{"name": "other-user", "user": {"token": "opaque"}}],
        "contexts": [{"name": "other", "context": {"cluster": "other", "user": "other-user",
                                                   "namespace": "team"}}],
        "current-context": "other", "extensions": [{"name": "x", "extension": {"a": 1}}],
    }))
    ca = kube.home / "ca.pem"
    ca.write_bytes(PEM)
    out = kube.run("eks", "kubeconfig", "hop1", "--cluster", "prod", "--server", SERVER,
                   "--ca-file", str(ca), "--region", "us-west-2")
    assert out.returncode == 0, out.stderr
    data = yaml.safe_load(kube.kubeconfig.read_text())
    arn = "arn:aws:eks:us-west-2:111111111111:cluster/prod"
    assert by_name(data["clusters"], "other")["cluster"] == {"server": "https://other.example"}
    assert by_name(data["users"], "other-user")["user"] == {"token": "opaque"}
    assert by_name(data["contexts"], "other")["context"]["namespace"] == "team"
    assert data["preferences"] == {"colors": True} and data["extensions"][0]["name"] == "x"
    assert by_name(data["clusters"], arn)["cluster"] == {
        "server": SERVER, "certificate-authority-data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t"
        "Ck1JSUJmYWtlCi0tLS0tRU5EIENFUlRJRklDQVRFLS0tLS0K"}
    user = by_name(data["users"], f"hop1@{arn}")["user"]
    assert user == {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1",
                             "command": "rolecall", "args": [
                                 "eks", "token", "hop1", "--cluster", "prod", "--region",
                                 "us-west-2"]}}
    assert by_name(data["contexts"], "hop1@prod")["context"] == {"cluster": arn,
                                                                 "user": f"hop1@{arn}"}
    assert data["current-context"] == "hop1@prod"
    assert stat.S_IMODE(kube.kubeconfig.stat().st_mode) == 0o600
    assert sorted(p.name for p in kube.kubeconfig.parent.iterdir()) == ["config"]  # no lock
    seen = view(kube)  # kubectl reads what the YAML parser read
    assert by_name(seen["users"], f"hop1@{arn}")["user"]["exec"]["args"] == user["exec"]["args"]
    assert by_name(seen["clusters"], arn)["cluster"]["server"] == SERVER
    assert seen["current-context"] == "hop1@prod"
    # kubectl writes next (its lock is free: rolecall left none), then rolecall again
    assert kubectl(kube, "config", "set-context", "hop1@prod", "--namespace", "apps"
                   ).returncode == 0
    again = kube.run("eks", "kubeconfig", "hop1", "--cluster", "prod", "--server", SERVER,
                     "--region", "us-west-2")
    assert again.returncode == 0 and "updated context hop1@prod" in again.stdout
    data = yaml.safe_load(kube.kubeconfig.read_text())
    assert by_name(data["contexts"], "hop1@prod")["context"]["namespace"] == "apps"
    assert "certificate-authority-data" not in by_name(data["clusters"], arn)["cluster"]
    assert len(data["clusters"]) == len(data["users"]) == len(data["contexts"]) == 2


HOSTILE = ["a: b", "- x", "x #y", "&anchor", "*alias", "!!python/object/apply:os.system",
           "{x: y}", "[1]", '"q"', "'q'", "%TAG", "---", "...", "? k", "@x", "`x`", "|", ">",
           "null", "true", "0x10", "1e3", "~", "é🙂", "x'$(touch PWNED)", "-v", "y", "n",
           "off", "On", "0o17", "1_000", "12:30", "2001-12-14", ".inf", "=", "<<", "\\"]


@needs_kubectl
def test_hostile_role_names_stay_scalars(kube):
    roles = "".join(f"[roles.{json.dumps(name, ensure_ascii=False)}]\nrole_arn = "
                    '"arn:aws:iam::111111111111:role/Hop1"\nsource = "base"\n\n'
                    for name in HOSTILE)
    kube.catalog.write_text(roles)
    for name in HOSTILE:
        out = kube.run("eks", "kubeconfig", "--cluster", "prod", "--server", SERVER, "--",
                       name)
        assert out.returncode == 0, (name, out.stderr)
    data = yaml.safe_load(kube.kubeconfig.read_text())
    assert set(data) == {"apiVersion", "kind", "preferences", "clusters", "users", "contexts",
                         "current-context"}
    assert len(data["clusters"]) == 1 and len(data["users"]) == len(data["contexts"]) == len(
        HOSTILE)
    seen = view(kube)
    for name in HOSTILE:
        want = (["eks", "token", "--cluster", "prod", "--", name] if name.startswith("-")
                else ["eks", "token", name, "--cluster", "prod"])
        for doc in (data, seen):
            user = by_name(doc["users"], f"{name}@arn:aws:eks:us-east-1:111111111111:cluster/"
                                         "prod")
            assert user["user"]["exec"]["args"] == want, name
            assert by_name(doc["contexts"], f"{name}@prod")["context"]["user"] == user["name"]
    assert not list(kube.home.glob("PWNED"))


@SETTINGS
@given(role=st.text(min_size=1, max_size=20), context=st.text(min_size=1, max_size=20))
def test_any_names_round_trip(tmp_path, role, context):
    """Whatever text names the role or the context, the file written reads back as the
    entries meant (or the name is refused as a control character, exit 2)."""
    file = tmp_path / f"config-{abs(hash((role, context)))}"
    try:
        new = kubeconfig.entry(role, "prod", SERVER, "arn:x", context=context)
    except UsageError:
        assert UNSAFE.search(context)  # a control or separator character: refused
        return
    kubeconfig.write(new, file)
    data = yaml.safe_load(file.read_text())
    assert by_name(data["contexts"], context)["context"]["user"] == f"{role}@arn:x"
    assert role in by_name(data["users"], f"{role}@arn:x")["user"]["exec"]["args"]
    assert data["current-context"] == context


def test_odd_files_are_refused_and_left_alone(kube, tmp_path):
    kube.kubeconfig.parent.mkdir()
    args = ("eks", "kubeconfig", "hop1", "--cluster", "prod", "--server", SERVER)
    for text, needle in (("a: [1\n", "line 2"), ("- 1\n- 2\n", "not a mapping"),
                         ("clusters: 5\n", "not a list"),
                         ("users:\n- user: {}\n", "not a list")):
        kube.kubeconfig.write_text(text)
        err = assert_fails(kube.run(*args), 2, needle)
        assert "a: [1" not in err
        assert kube.kubeconfig.read_text() == text
    real = kube.home / "real-config"
    real.write_text("")
    kube.kubeconfig.unlink()
    kube.kubeconfig.symlink_to(real)
    assert kube.run(*args).returncode == 0
    assert kube.kubeconfig.is_symlink() and "hop1@prod" in real.read_text()
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert_fails(kube.run(*args, env={"KUBECONFIG": f"{fifo}:{real}"}), 2, "fifo",
                 "KUBECONFIG")
    assert_fails(kube.run(*args, env={"KUBECONFIG": str(tmp_path)}), 2, "directory")


def test_kubectls_lock_is_honoured(kube, monkeypatch):
    new = kubeconfig.entry("hop1", "prod", SERVER, "arn:x")
    kube.kubeconfig.parent.mkdir()
    kube.kubeconfig.write_text("kind: Config\n")
    lock = kube.kubeconfig.with_name("config.lock")
    lock.write_text("")  # kubectl is writing (or died holding it)
    monkeypatch.setattr(kubeconfig, "LOCK_WAIT", 0.2)
    with pytest.raises(FileWriteError, match="config.lock exists"):
        kubeconfig.write(new, kube.kubeconfig)
    assert kube.kubeconfig.read_text() == "kind: Config\n" and lock.exists()
    lock.unlink()
    if KUBECTL is not None:  # while rolecall holds it, kubectl's own write waits its turn
        with kubeconfig.kubectl_lock(kube.kubeconfig):
            busy = kubectl(kube, "config", "set-context", "x", "--cluster", "y")
        assert busy.returncode != 0 and "config.lock" in busy.stderr
    kubeconfig.write(new, kube.kubeconfig)
    assert not lock.exists()
    link = kube.home / "kubeconfig-link"  # kubectl locks the path it is given: so does rolecall
    link.symlink_to(kube.kubeconfig)
    link.with_name("kubeconfig-link.lock").write_text("")
    with pytest.raises(FileWriteError, match="kubeconfig-link.lock exists"):
        kubeconfig.write(new, link)
    link.with_name("kubeconfig-link.lock").unlink()
    kubeconfig.write(new, link)
    assert link.is_symlink() and not list(kube.home.glob("*.lock"))


def test_bad_arguments_are_one_line(kube):
    for extra, needle in ((["--server", "ftp://x"], "invalid server URL"),
                          (["--server", "https://"], "invalid server URL"),
                          (["--server", "https://x/?token=1"], "invalid server URL"),
                          (["--server", SERVER, "--ca-file", "/nonexistent"], "does not exist"),
                          (["--server", SERVER, "--ca-file", "/etc/hostname"], "no PEM"),
                          (["--server", SERVER, "--context", "a\nb"], "invalid context"),
                          (["--server", SERVER, "--region", "x y"], "invalid --region")):
        assert_fails(kube.run("eks", "kubeconfig", "hop1", "--cluster", "prod", *extra), 2,
                     needle)
    assert_fails(kube.run("eks", "kubeconfig", "nope", "--cluster", "prod", "--server", SERVER),
                 2, "nope")
    assert not kube.kubeconfig.exists()


def test_without_server_eks_describes_the_cluster(kube):
    kube.catalog.write_text('[roles.hop1]\neks_clusters = ["prod@us-west-2", "dev"]\n')
    eks = kube.moto.client("eks", "111111111111", region_name="us-west-2")
    made = eks.create_cluster(name="prod", roleArn="arn:aws:iam::111111111111:role/eks",
                              resourcesVpcConfig={})["cluster"]
    out = kube.run("eks", "kubeconfig", "hop1", "--cluster", "prod")
    assert out.returncode == 0, out.stderr
    data = yaml.safe_load(kube.kubeconfig.read_text())
    cluster = by_name(data["clusters"], made["arn"])["cluster"]
    assert cluster == {"server": made["endpoint"],
                       "certificate-authority-data": made["certificateAuthority"]["data"]}
    user = by_name(data["users"], f"hop1@{made['arn']}")["user"]
    assert user["exec"]["args"][-2:] == ["--region", "us-west-2"]  # the catalog's region
    missing = kube.run("eks", "kubeconfig", "hop1", "--cluster", "dev")
    assert_fails(missing, 1, "no cluster 'dev'")
