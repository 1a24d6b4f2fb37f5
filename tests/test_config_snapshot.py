"""The inventory snapshot in the state dir: used only while the AWS config, credentials
file and catalog are unchanged, never holding a credential, and a corrupt one is only a
cache miss."""

from __future__ import annotations

import os
import stat
import time

import pytest

from profiles.config import inventory
from profiles.config import snapshot as config_snapshot
from profiles.workspace import RoleRow, Workspace

CONFIG = ("[profile base]\nregion = eu-west-1\n"
          "[profile deploy]\nrole_arn = arn:aws:iam::111111111111:role/Deploy\n"
          "source_profile = base\nexternal_id = ext-1\n"
          "[profile admin]\nrole_arn = arn:aws:iam::111111111111:role/Admin\n"
          "source_profile = deploy\nmfa_serial = arn:aws:iam::111111111111:mfa/op\n")
CATALOG = ('[settings]\nrefresh_window = "10m"\n'
           '[accounts."111111111111"]\nalias = "prod"\ntags = ["prod"]\n'
           'audit_role = "deploy"\n')
KEY_ID = "AKIASNAPSHOTKEYID000"
SECRET = "snapshot-secret-access-key-never-cached"


def age(*files) -> None:
    """Files as a real operator's are: not modified in the last second."""
    past = time.time() - 60
    for path in files:
        os.utime(path, (past, past))


@pytest.fixture
def files(offline_world):
    w = offline_world
    w.write_config(CONFIG)
    w.write_credentials(f"[base]\naws_access_key_id = {KEY_ID}\n"
                        f"aws_secret_access_key = {SECRET}\n"
                        "aws_session_token = snapshot-token\n")
    w.catalog.write_text(CATALOG)
    age(w.config, w.credentials, w.catalog)
    return w


def test_snapshot_is_written_private_then_used_and_equal(files):
    assert config_snapshot.read() is None
    parsed = config_snapshot.load()
    path = files.state / config_snapshot.NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    cached = config_snapshot.read()
    assert cached is not None
    assert cached.roles == parsed.roles == inventory.load().roles
    assert cached.bases == parsed.bases and cached.accounts == parsed.accounts
    assert cached.accounts["111111111111"].audit_role == "deploy"
    assert cached.settings == parsed.settings and cached.settings.refresh_window == 600
    assert (cached.config_file, cached.catalog_file) == (parsed.config_file,
                                                         parsed.catalog_file)
    rows = Workspace(inv=cached).rows()
    assert [r.chain for r in rows] == [r.chain for r in Workspace(inv=parsed).rows()]


def test_snapshot_rows_equal_planned_rows(files):
    """The board's rows from the snapshot's stored plans (chain labels, final key, ARN
    parts) are the rows planning the parsed inventory gives, in both MFA modes."""
    for mode in ("session", "direct"):
        files.catalog.write_text(CATALOG.replace("[settings]\n",
                                                 f'[settings]\nmfa_mode = "{mode}"\n'))
        age(files.catalog)
        parsed = config_snapshot.load()
        cached = config_snapshot.read()
        assert cached is not None and cached.row_plans and not parsed.row_plans
        rows = Workspace(inv=cached).rows()
        assert rows == Workspace(inv=parsed).rows()
        assert all(RoleRow(**vars(row)) == row for row in rows)  # every field set
        engine = Workspace(inv=parsed).engine
        for name, (key, chain) in cached.row_plans.items():
            plan = engine.plan(name)
            assert (key, chain) == (plan.steps[-1].key, plan.labels)
            assert cached.roles[name].account_id == parsed.roles[name].account_id
            assert cached.roles[name].role_short_name == parsed.roles[name].role_short_name


def test_snapshot_holds_no_credential(files):
    config_snapshot.load()
    text = (files.state / config_snapshot.NAME).read_text()
    for secret in (KEY_ID, SECRET, "snapshot-token", "aws_access_key_id",
                   "aws_secret_access_key"):
        assert secret not in text
    assert '"base"' in text and "eu-west-1" in text


@pytest.mark.parametrize("which", ["config", "credentials", "catalog"])
def test_any_file_changing_invalidates_it(files, which):
    config_snapshot.load()
    assert config_snapshot.read() is not None
    path = getattr(files, which)
    extra = {"config": "[profile ops]\nrole_arn = arn:aws:iam::222222222222:role/Ops\n"
                       "source_profile = base\n",
             "credentials": "[other]\naws_access_key_id = AKIAOTHER\n"
                            "aws_secret_access_key = other\n",
             "catalog": '[accounts."222222222222"]\nalias = "ops"\n'}[which]
    path.write_text(path.read_text() + extra)
    age(path)
    assert config_snapshot.read() is None
    fresh = config_snapshot.load()
    assert {"config": "ops" in fresh.roles, "credentials": "other" in fresh.bases,
            "catalog": "222222222222" in fresh.accounts}[which]
    assert config_snapshot.read() is not None  # rewritten for the new files


def test_same_size_same_mtime_rewrite_is_caught_by_the_settle_rule(files):
    """A file written just now is not snapshotted: a second edit in the same timestamp
    tick, with the same size, would otherwise look unchanged."""
    files.write_config(CONFIG)  # fresh mtime
    config_snapshot.load()
    assert config_snapshot.read() is None
    assert not (files.state / config_snapshot.NAME).exists()


def test_removed_file_invalidates_it(files):
    config_snapshot.load()
    files.catalog.unlink()
    assert config_snapshot.read() is None
    assert config_snapshot.load().accounts == {}


@pytest.mark.parametrize("content", [b"", b"{not json", b"[]", b'{"version": 1}',
                                     b"\xff\xfe", [["deploy"]], [{"name": "deploy"}]])
def test_corrupt_snapshot_falls_back_silently(files, content):
    config_snapshot.load()
    path = files.state / config_snapshot.NAME
    if not isinstance(content, bytes):  # right stamp, mangled roles
        import json

        data = json.loads(path.read_bytes())
        data["roles"] = content
        content = json.dumps(data).encode()
    path.write_bytes(content)
    assert config_snapshot.read() is None
    assert set(config_snapshot.load().roles) == {"deploy", "admin"}
    assert config_snapshot.read() is not None  # and it was rewritten


def test_broken_roles_round_trip_with_their_errors(files):
    files.write_config(CONFIG + "[profile loop]\nrole_arn = arn:aws:iam::111111111111:"
                       "role/L\nsource_profile = nowhere\n[profile bad]\nrole_arn = nope\n"
                       "source_profile = base\n")
    age(files.config)
    parsed = config_snapshot.load()
    assert set(parsed.broken) == {"loop", "bad"} and set(parsed.roles) == {"deploy", "admin"}
    cached = config_snapshot.read()
    assert cached is not None and set(cached.roles) == {"deploy", "admin"}
    for name in ("loop", "bad"):
        assert (cached.broken[name].message, cached.broken[name].fix) == (
            parsed.broken[name].message, parsed.broken[name].fix)
    rows = {r.name: r for r in Workspace(inv=cached).rows()}
    assert rows["loop"].state(0, 0) == "broken" and "'nowhere'" in rows["loop"].error
    assert rows["deploy"].error is None
    proc = files.run("assume", "loop")  # served from the snapshot: the same refusal
    assert proc.returncode == 2 and "'nowhere'" in proc.stderr, proc.stderr
