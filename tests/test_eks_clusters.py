"""The catalog's ``eks_clusters``: untrusted text, checked at load (a bad entry breaks only
its role, naming the file and never echoing a control character), kept by the inventory
snapshot."""

from __future__ import annotations

import os
import time

import pytest

from profiles.config import inventory, snapshot
from profiles.eks.clusters import Cluster, check_cluster
from profiles.errors import UsageError

ROLE = '[roles.ops]\nrole_arn = "arn:aws:iam::111111111111:role/Ops"\nsource = "base"\n'


def load(tmp_path, clusters: str):
    config, catalog = tmp_path / "config", tmp_path / "catalog.toml"
    config.write_text("[profile base]\n")
    catalog.write_text(ROLE + f"eks_clusters = {clusters}\n")
    return inventory.load(config, tmp_path / "credentials", catalog, tmp_path / "sso.json")


def test_names_and_regions(tmp_path):
    inv = load(tmp_path, '["prod", "analytics@eu-west-1", "a.b_c-1"]')
    assert inv.roles["ops"].eks_clusters == (("prod", None), ("analytics", "eu-west-1"),
                                             ("a.b_c-1", None))
    assert Cluster("analytics", "eu-west-1").label == "analytics@eu-west-1"


@pytest.mark.parametrize("clusters, needle", [
    ('"prod"', "must be a list of strings"),
    ("[1]", "must be a list of strings"),
    ('[""]', "invalid cluster name"),
    ('["a b"]', "invalid cluster name"),
    ('["-x"]', "invalid cluster name"),
    ('["x@"]', "invalid eks_clusters region"),
    ('["x@us east"]', "invalid eks_clusters region"),
    ('["x@a@b"]', "invalid eks_clusters region"),
    ('["x\\u001b[31m"]', "control or line-separator"),
    ('["x\\u202e"]', "control or line-separator"),
    ('["prod", "prod"]', "twice"),
])
def test_a_bad_entry_breaks_only_its_role(tmp_path, clusters, needle):
    inv = load(tmp_path, clusters)
    assert "ops" not in inv.roles
    error = inv.broken["ops"]
    assert needle in error.message and "[roles.ops]" in error.message
    assert "\x1b" not in str(error) and "\u202e" not in str(error)


def test_the_snapshot_keeps_them(tmp_path):
    config, catalog, state = tmp_path / "config", tmp_path / "catalog.toml", tmp_path / "state"
    config.write_text("[profile base]\n")
    catalog.write_text(ROLE + 'eks_clusters = ["prod", "analytics@eu-west-1"]\n')
    past = time.time() - 60
    for path in (config, catalog):
        os.utime(path, (past, past))
    first = snapshot.load(config, tmp_path / "credentials", catalog, state)
    cached = snapshot.read(config, tmp_path / "credentials", catalog, state)
    assert cached is not None and cached.roles["ops"] == first.roles["ops"]
    assert cached.roles["ops"].eks_clusters == (("prod", None), ("analytics", "eu-west-1"))


@pytest.mark.parametrize("name", ["", "a b", "x\n", "-x", "é", "c" * 101, "a/b", "a:b"])
def test_a_cluster_name_on_the_command_line(name):
    with pytest.raises(UsageError, match="invalid cluster name"):
        check_cluster(name)
