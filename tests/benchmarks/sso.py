"""IAM Identity Center at scale: prints figures, asserts nothing.

    python -m tests.benchmarks.sso [ACCOUNTS] [ROLES_PER_ACCOUNT]

- discovery of 500 accounts x 3 roles (1,500 roles) against the local portal fake with
  its rate limit on (10 calls per second, TooManyRequestsException beyond), rolecall's
  limiter and workers as shipped (target: under 60 s; 505 calls at 10/s take about 50 s);
- for contrast, the peers' way: boto3's paginators with botocore's standard retries and
  no pacing, against the same limit (how many calls, how many 429s, how it ends);
- ``rolecall list`` over the 1,500 discovered roles (from the roster and the inventory
  snapshot) against ``list`` over 1,500 roles written in the AWS config, median of
  alternated fresh processes (target: within 1.2x).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks import compile_checkout
from tests.benchmarks.measure import alternated, machine

RATE_LIMIT = 10  # the fake portal's TPS


def _center(accounts: int, roles: int):
    from tests.fakes import IdentityCenter

    center = IdentityCenter()
    names = tuple(f"Set{j}" for j in range(roles))
    for i in range(accounts):
        center.add_account(f"{100000000000 + i:012d}", f"account-{i:04d}", roles=names)
    return center


def discover(root: Path, accounts: int, roles: int) -> dict[str, str]:
    """Discovery through rolecall into ``root``'s state dir; the environment it used."""
    from tests.fakes import SsoFakes

    center = _center(accounts, roles)
    env = {"HOME": str(root), "AWS_CONFIG_FILE": str(root / "config"),
           "AWS_SHARED_CREDENTIALS_FILE": str(root / "credentials"),
           "ROLECALL_CONFIG": str(root / "rolecall.toml"),
           "ROLECALL_STATE_DIR": str(root / "state"), "AWS_DEFAULT_REGION": "us-east-1"}
    (root / "config").write_text(f"[sso-session corp]\nsso_start_url = {center.start_url}\n"
                                 "sso_region = us-east-1\n")
    with SsoFakes.of(center, tps=RATE_LIMIT) as fakes:
        os.environ.update(env, **fakes.env)
        from profiles.config import inventory
        from profiles.estate import discovery, roster, sso

        session = sso.resolve(inventory.load(), "corp")
        token = center.issue_token().access_token
        started = time.perf_counter()
        found, lister = discovery.sync(session, token)
        seconds = time.perf_counter() - started
        roster.save(roster.path(), "corp", found)
        refused = fakes.portal.calls.errors().get("TooManyRequestsException", 0)
        print(f"discovery, rolecall: {found.role_count} roles in {len(found.accounts)} "
              f"accounts in {seconds:.1f} s ({lister.calls} calls, {refused} throttled; "
              f"the fake admits {RATE_LIMIT}/s)")
        naive(fakes, token)
    return env


def naive(fakes, token: str) -> None:
    """boto3's paginators, botocore's standard retries, every account in turn."""
    import boto3
    from botocore.config import Config

    fakes.portal.calls.clear()
    client = boto3.client("sso", endpoint_url=fakes.portal.endpoint, region_name="us-east-1",
                          config=Config(retries={"mode": "standard"}))
    started = time.perf_counter()
    listed = 0
    outcome = "finished"
    try:
        pages = client.get_paginator("list_accounts").paginate(accessToken=token)
        for page in pages:
            for account in page["accountList"]:
                for roles in client.get_paginator("list_account_roles").paginate(
                        accessToken=token, accountId=account["accountId"]):
                    listed += len(roles["roleList"])
    except Exception as exc:  # noqa: BLE001 - the figure is how it ends
        outcome = f"failed: {type(exc).__name__}"
    seconds = time.perf_counter() - started
    calls = fakes.portal.calls
    print(f"discovery, unpaced paginators: {outcome} after {seconds:.1f} s, {listed} roles, "
          f"{len(calls)} calls, {calls.errors().get('TooManyRequestsException', 0)} throttled")


def config_world(root: Path, count: int) -> dict[str, str]:
    lines = ["[profile base]\nregion = us-east-1\n"]
    for i in range(count):
        lines.append(f"[profile role-{i:04d}]\nrole_arn = arn:aws:iam::"
                     f"{100000000000 + i // 3:012d}:role/Set{i % 3}\nsource_profile = base\n")
    (root / "config").write_text("\n".join(lines))
    return {"HOME": str(root), "AWS_CONFIG_FILE": str(root / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(root / "credentials"),
            "ROLECALL_CONFIG": str(root / "rolecall.toml"),
            "ROLECALL_STATE_DIR": str(root / "state")}


def main(accounts: int = 500, roles: int = 3, runs: int = 15) -> None:
    compile_checkout()
    print(machine())
    tmp = Path(tempfile.mkdtemp(prefix="rolecall-sso-bench-"))
    try:
        (tmp / "sso").mkdir()
        (tmp / "config").mkdir()
        sso_env = discover(tmp / "sso", accounts, roles)
        plain_env = config_world(tmp / "config", accounts * roles)
        time.sleep(1.1)  # the inventory snapshot trusts files older than a second
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ROLECALL_"))}
        cli = [sys.executable, "-m", "tui", "list"]
        results = alternated({
            "sso": ["env", *[f"{k}={v}" for k, v in sso_env.items()], *cli],
            "config": ["env", *[f"{k}={v}" for k, v in plain_env.items()], *cli],
        }, base, runs)
        (sso_wall, sso_cpu), (cfg_wall, cfg_cpu) = results["sso"], results["config"]
        print(f"list, {accounts * roles} discovered SSO roles: {sso_wall:.0f} ms "
              f"(cpu {sso_cpu:.0f} ms)")
        print(f"list, {accounts * roles} config roles:         {cfg_wall:.0f} ms "
              f"(cpu {cfg_cpu:.0f} ms)")
        print(f"ratio: {sso_wall / cfg_wall:.2f}x wall, {sso_cpu / cfg_cpu:.2f}x cpu "
              f"(target 1.2x), median of {runs} alternated runs")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
