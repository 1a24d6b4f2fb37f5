"""A cluster's API endpoint, CA and ARN from EKS ``DescribeCluster``, read through the
role's own session (as ``aws eks update-kubeconfig`` reads them), for a kubeconfig entry
written without ``--server``."""

from __future__ import annotations

from dataclasses import dataclass

from profiles.errors import AwsError


@dataclass(frozen=True)
class Described:
    server: str
    ca: str | None
    arn: str


def describe(ws, role: str, cluster: str, region: str | None) -> Described:
    """``DescribeCluster`` of ``cluster`` in ``region`` (default the role's, then the
    environment's) as ``role``."""
    # lazy: botocore only when a cluster is described
    from botocore.exceptions import ClientError

    from profiles.sessions import sts

    session = ws.assume(role).session
    creds = session.credentials
    assert creds is not None
    where = sts.default_region(region, ws.inventory.role(role).region)
    client = sts.service_client("eks", where, creds.access_key_id, creds.secret_access_key,
                                creds.session_token)
    try:
        found = client.describe_cluster(name=cluster)["cluster"]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            raise AwsError(f"EKS has no cluster {cluster!r} in {where} (asked as {role})",
                           fix="check the name and --region, or give --server URL") from None
        if code in ("AccessDeniedException", "AccessDenied", "UnauthorizedOperation"):
            raise AwsError(f"{role} may not describe the EKS cluster {cluster!r} "
                           "(eks:DescribeCluster)",
                           fix="give --server URL (and --ca-file) instead") from None
        raise sts.explain(exc, f"DescribeCluster {cluster}") from None
    except Exception as exc:  # noqa: BLE001 - every failure becomes one line
        raise sts.explain(exc, f"DescribeCluster {cluster}") from None
    server, ca, arn = (found.get("endpoint"), found.get("certificateAuthority", {}).get("data"),
                       found.get("arn"))
    if not isinstance(server, str) or not server or not isinstance(arn, str) or not arn:
        raise AwsError(f"EKS gave no endpoint for {cluster!r} (is it still being created?)",
                       fix="wait until the cluster is ACTIVE, or give --server URL")
    return Described(server, ca if isinstance(ca, str) and ca else None, arn)
