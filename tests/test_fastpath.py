"""The cache-hit fast path: ``process`` and ``env`` in a real subprocess import neither
boto3, botocore nor textual, and serve only what the full path would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from profiles.model import iso
from profiles.sessions import fastpath
from tests.helpers import chain_config, environ, ok_json, process_creds

PROBE = """\
import json, sys
from tui.cli import main
rc = main({argv!r})
heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore', 'textual'))
print(json.dumps({{"rc": rc, "heavy": heavy}}), file=sys.stderr)
"""


def probe(world, argv: list[str], **env: str) -> tuple[str, dict]:
    out = subprocess.run([sys.executable, "-c", PROBE.format(argv=argv)], capture_output=True,
                         text=True, env=environ(world, **env), cwd=world.home, timeout=60,
                         stdin=subprocess.DEVNULL)
    report = json.loads(out.stderr.strip().splitlines()[-1])
    return out.stdout, report


@pytest.mark.parametrize("config_spelling", ["plain", "unnormalised"])
def test_cache_hit_imports_no_boto_nor_textual(world, config_spelling):
    chain_config(world)
    env = {}
    if config_spelling == "unnormalised":  # the same file, spelled with // and ./
        env["AWS_CONFIG_FILE"] = str(world.aws) + "//./config"
    assert world.run("assume", "hop2", env=env).returncode == 0
    creds = process_creds(world, "hop2")
    out, report = probe(world, ["process", "hop2"], **env)
    assert report == {"rc": 0, "heavy": []}
    assert json.loads(out) == creds
    for fmt in ("sh", "json", "dotenv", "fish", "powershell"):
        out, report = probe(world, ["env", "hop2", "--format", fmt], **env)
        assert report == {"rc": 0, "heavy": []}, fmt
        assert creds["SessionToken"] in out
    out, report = probe(world, ["env", "hop2"], **env)
    assert report["heavy"] == [] and out.startswith("unset AWS_PROFILE")


def test_probe_can_see_a_miss(world):
    """The probe is honest: a cold cache takes the full path and imports botocore."""
    chain_config(world)
    out, report = probe(world, ["process", "hop1"])
    assert report["rc"] == 0 and "botocore" in report["heavy"]
    assert "textual" not in report["heavy"]
    assert json.loads(out)["Version"] == 1


def test_config_change_sends_the_fast_path_to_the_engine(world):
    chain_config(world)
    first = process_creds(world, "hop1")
    world.write_config(world.config.read_text().replace(
        "[profile hop1]\n", "[profile hop1]\nexternal_id = changed\n"))
    out, report = probe(world, ["process", "hop1"])
    assert "botocore" in report["heavy"]  # the stamp no longer matches
    fresh = json.loads(out)
    assert fresh["AccessKeyId"] != first["AccessKeyId"]  # a new key: a new session
    assert process_creds(world, "hop1") == fresh


def test_a_role_in_the_credentials_file_is_stamped_too(world):
    chain_config(world)
    other = world.moto.create_role("444444444444", "Moved")
    world.write_credentials(world.credentials.read_text() + "\n[credrole]\nrole_arn = "
                            + world.moto.create_role("555555555555", "Original")
                            + "\nsource_profile = base\n")
    first = process_creds(world, "credrole")
    world.write_credentials(world.credentials.read_text().replace(
        "arn:aws:iam::555555555555:role/Original", other))
    out, report = probe(world, ["process", "credrole"])
    assert "botocore" in report["heavy"]  # the credentials file defines roles: stamped
    assert json.loads(out)["AccessKeyId"] != first["AccessKeyId"]
    arn = ok_json(world.run("assume", "credrole", "--json"))["assumed_role_arn"]
    assert ":444444444444:assumed-role/Moved/" in arn


def test_fast_path_respects_the_refresh_window_and_forget(world):
    chain_config(world)
    data = ok_json(world.run("assume", "hop1", "--json"))
    expires = datetime.fromisoformat(data["expires_at"].replace("Z", "+00:00")).timestamp()
    assert fastpath.lookup("hop1", now=expires - 301) is not None
    assert fastpath.lookup("hop1", now=expires - 299) is None
    assert fastpath.lookup("hop2") is None
    assert world.run("forget", "hop1").returncode == 0
    assert fastpath.lookup("hop1") is None


def test_core_and_cli_never_import_textual(offline_world):
    """profiles/ is UI-free, and the non-TUI commands leave Textual unloaded."""
    offline_world.write_config("[profile base]\n")
    code = ("import sys, pkgutil, importlib, profiles\n"
            "for m in pkgutil.walk_packages(profiles.__path__, 'profiles.'):\n"
            "    importlib.import_module(m.name)\n"
            "from tui.cli import main\n"
            "for argv in (['list'], ['sessions'], ['clean'], ['--help']):\n"
            "    try:\n"
            "        main(argv)\n"
            "    except SystemExit:\n"
            "        pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'textual'))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=environ(offline_world, PYTHON_KEYRING_BACKEND=
                                     "keyring.backends.null.Keyring"),
                         cwd=offline_world.home, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_exec_on_a_cache_hit_imports_no_boto_before_exec(world):
    """``exec`` replaces itself with CMD, so its imports are read from -X importtime."""
    chain_config(world)
    assert world.run("assume", "hop2").returncode == 0
    creds = process_creds(world, "hop2")
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "tui", "exec", "hop2", "--", "sh", "-c",
         "echo $AWS_SESSION_TOKEN; exit 7"],
        capture_output=True, text=True, env=environ(world), cwd=world.home, timeout=60,
        stdin=subprocess.DEVNULL)
    assert out.returncode == 7
    assert out.stdout.strip() == creds["SessionToken"]
    imported = [line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines()
                if line.startswith("import time:")]
    assert "profiles.sessions.fastpath" in imported  # the probe sees our own imports
    assert not [m for m in imported if m.split(".")[0] in ("boto3", "botocore", "textual")]


EXAMPLES = int(os.environ.get("ROLECALL_PROPERTY_EXAMPLES", "60"))


@settings(max_examples=EXAMPLES * 5, deadline=None)
@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 31, 23, 59,
                                                                        59)))
def test_the_hot_paths_expiry_arithmetic_agrees_with_datetime(moment):
    """``fastpath.epoch`` parses what ``iso`` writes without importing datetime."""
    moment = moment.replace(tzinfo=UTC, microsecond=0)
    assert fastpath.epoch(iso(moment)) == moment.timestamp()


@pytest.mark.parametrize("text", ["2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z",
                                  "2026-04-31T00:00:00Z", "2026-01-01T24:00:00Z",
                                  "2026-01-01T00:60:00Z", "2026-01-01T00:00:60Z",
                                  "2026-00-10T00:00:00Z", "2026-01-00T00:00:00Z", "nonsense"])
def test_the_hot_path_refuses_impossible_expiries(text):
    with pytest.raises(ValueError):
        fastpath.epoch(text)
    assert fastpath.epoch("2024-02-29T12:00:00Z") == datetime(2024, 2, 29, 12, tzinfo=UTC
                                                              ).timestamp()
