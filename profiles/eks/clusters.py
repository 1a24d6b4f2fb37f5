"""Cluster names and the catalog's ``eks_clusters``: untrusted text, checked before it is
a header (``x-k8s-aws-id``), an argument or a kubeconfig name.

A catalog role lists its clusters as ``eks_clusters = ["prod", "analytics@eu-west-1"]``:
a name, and after ``@`` the cluster's region when it is not the role's (``@`` is in no
cluster name, so the split is unambiguous).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from profiles.config.text import check_region, check_value
from profiles.errors import ConfigError, UsageError

# EKS's own rule (letters, digits, - and _, starting with a letter or digit, up to 100),
# plus dots: aws-iam-authenticator on a self-managed cluster takes any cluster ID, and
# such IDs are often host names.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", re.ASCII)
NAME_FIX = ("a cluster name is letters, digits, '-', '_' and '.', starting with a letter or "
            "digit, up to 100 characters")


class Cluster(NamedTuple):
    name: str
    region: str | None = None

    @property
    def label(self) -> str:
        return f"{self.name}@{self.region}" if self.region else self.name


def check_cluster(name: str) -> str:
    """A cluster name given on the command line, or a UsageError (exit 2)."""
    if not NAME.fullmatch(name):
        raise UsageError(f"invalid cluster name {ascii(name)}", fix=NAME_FIX)
    return name


def check_region_arg(region: str | None) -> str | None:
    """``--region`` as given, checked as the config's regions are."""
    if region is None:
        return None
    try:
        return check_region(region, "--region")
    except ConfigError:
        raise UsageError(f"invalid --region {ascii(region)}",
                         fix="give a region name such as us-west-2") from None


def from_catalog(value: object, where: str) -> tuple[Cluster, ...]:
    """A role's ``eks_clusters``: a list of ``"name"`` or ``"name@region"`` strings."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: eks_clusters must be a list of strings",
                          fix='e.g. eks_clusters = ["prod", "analytics@eu-west-1"]')
    out: list[Cluster] = []
    for item in value:
        check_value(item, where, "eks_clusters")
        name, _, region = item.partition("@")
        if not NAME.fullmatch(name):
            raise ConfigError(f"{where}: eks_clusters: invalid cluster name {name!r}",
                              fix=NAME_FIX + ', then "@region" if it is not the role\'s')
        if region or item.endswith("@"):
            check_region(region, where, "eks_clusters region")
        cluster = Cluster(name, region or None)
        if cluster in out:
            raise ConfigError(f"{where}: eks_clusters lists {cluster.label!r} twice")
        out.append(cluster)
    return tuple(out)
