"""The credentials-file writer: managed sections only, every other byte kept, atomic,
locked, mode 0600; ``clean`` removes only expired managed sections."""

from __future__ import annotations

import configparser
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from profiles.errors import UsageError
from profiles.model import Credentials, Session
from profiles.output import credfile
from tests.helpers import ACCOUNTS, assert_fails, chain_config, environ

USER = (
    """\
# my hand-written credentials; keep this comment exactly
[personal]
aws_access_key_id = AKIAPERSONAL
aws_secret_access_key = personal/secret+key ; not a comment to botocore
;   odd spacing and a semicolon comment

"""
    "[work]   \n"  # trailing spaces after the header are the user's too
    "aws_access_key_id=AKIAWORK\naws_secret_access_key=work-secret\n"
)


def session(role: str = "r", hours: float = 1, key: str = "ASIATEST") -> Session:
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=hours)
    creds = Credentials(key, f"secret-{key}", f"token-{key}", expires)
    return Session(key=f"k-{role}", role=role, kind="role",
                   arn=f"arn:aws:sts::111111111111:assumed-role/R/{role}",
                   expires_at=expires, issued_at=expires - timedelta(hours=1),
                   role_arn="arn:aws:iam::111111111111:role/R", credentials=creds)


def managed_block(name: str, expires: str) -> str:
    return (f"[{name}]\naws_access_key_id = ASIAOLD\naws_secret_access_key = old\n"
            f"aws_session_token = oldtoken\nx_security_token_expires = {expires}\n"
            f"x_principal_arn = arn:aws:sts::1:assumed-role/R/x\nx_managed_by = rolecall\n")


@pytest.fixture
def credentials(tmp_path, monkeypatch):
    monkeypatch.setenv("ROLECALL_STATE_DIR", str(tmp_path / "state"))
    path = tmp_path / "credentials"
    path.write_text(USER)
    path.chmod(0o644)
    return path


def parse(path) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(interpolation=None)
    parser.read_string(path.read_text())
    return parser


def test_append_keeps_user_bytes_and_sets_mode(credentials):
    credfile.write(session("alpha"), "alpha", path=credentials)
    text = credentials.read_text()
    assert text.startswith(USER + "\n[alpha]\n")
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    values = dict(parse(credentials)["alpha"])
    assert values["aws_session_token"] == "token-ASIATEST"
    assert values["x_managed_by"] == "rolecall"
    assert values["x_principal_arn"].endswith("assumed-role/R/alpha")
    assert values["x_security_token_expires"].endswith("Z")


def test_file_without_final_newline_gets_one(credentials):
    credentials.write_text(USER.rstrip("\n"))
    credfile.write(session(), "alpha", path=credentials)
    assert credentials.read_text().startswith(USER + "\n[alpha]\n")


def test_rewrite_replaces_the_managed_section_in_place(credentials):
    middle = managed_block("mid", "2001-01-01T00:00:00Z")
    credentials.write_text(USER + "\n" + middle + "# trailing user comment\n\n[tail]\nx = 1\n")
    credfile.write(session("mid", key="ASIANEW"), "mid", path=credentials)
    text = credentials.read_text()
    before, _, after = text.partition("[mid]\n")
    assert before == USER + "\n"
    # the old block had no x_rolecall_role: it is added after rolecall's last key
    assert after.split("x_managed_by = rolecall\n", 1)[1] == "x_rolecall_role = mid\n" \
        "# trailing user comment\n\n[tail]\nx = 1\n"
    assert parse(credentials)["mid"]["aws_access_key_id"] == "ASIANEW"
    assert "ASIAOLD" not in text


def test_unmanaged_section_refused_then_forced(credentials):
    original = credentials.read_bytes()
    with pytest.raises(UsageError, match="not written by rolecall") as caught:
        credfile.write(session(), "work", path=credentials)
    assert caught.value.exit_code == 2 and "--force" in caught.value.fix
    assert credentials.read_bytes() == original
    credfile.write(session(key="ASIAFORCED"), "work", path=credentials, force=True)
    parsed = parse(credentials)
    assert parsed["work"]["aws_access_key_id"] == "ASIAFORCED"
    assert parsed["personal"]["aws_access_key_id"] == "AKIAPERSONAL"
    assert credentials.read_text().startswith(USER.split("[work]")[0])


def test_clean_removes_only_expired_managed_sections(credentials):
    past = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    future = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    unmanaged_old = ("[handmade]\naws_access_key_id = AKIAHAND\n"
                     f"x_security_token_expires = {past}\n")
    text = (USER + "\n" + managed_block("old", past) + "\n# about fresh\n"
            + managed_block("fresh", future) + "\n" + unmanaged_old)
    credentials.write_text(text)
    import time

    assert credfile.remove(expired_before=time.time(), path=credentials) == ["old"]
    after = credentials.read_text()
    assert after == text.replace(managed_block("old", past), "")
    assert set(parse(credentials).sections()) == {"personal", "work", "fresh", "handmade"}


def test_symlinked_file_is_written_through_the_link(credentials, tmp_path):
    link = tmp_path / "link"
    link.symlink_to(credentials)
    credfile.write(session(), "alpha", path=link)
    assert link.is_symlink() and "[alpha]" in credentials.read_text()


def test_profile_names_are_checked():
    for bad in ("", "a b", "x]", "[x", "a\nb", "é"):
        with pytest.raises(UsageError):
            credfile.check_name(bad)
    assert credfile.check_name("ops-prod.admin@x") == "ops-prod.admin@x"


# -- the real command -------------------------------------------------------------------


def test_cli_write_refuses_unmanaged_then_force_and_clean(world):
    chain_config(world)
    world.write_credentials(world.credentials.read_text() + "\n" + USER)
    original = world.credentials.read_bytes()
    refused = world.run("write", "hop1", "--as", "work")
    assert_fails(refused, 2, "[work]", "--force")
    assert world.credentials.read_bytes() == original
    forced = world.run("write", "hop1", "--as", "work", "--force")
    assert forced.returncode == 0, forced.stderr
    assert parse(world.credentials)["work"]["x_managed_by"] == "rolecall"
    past = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    world.write_credentials(world.credentials.read_text() + "\n" + managed_block("gone", past))
    cleaned = world.run("clean")
    assert cleaned.returncode == 0 and "[gone]" in cleaned.stdout
    assert set(parse(world.credentials).sections()) == {"base", "personal", "work"}
    assert "nothing" in world.run("clean").stdout


def test_concurrent_writer_processes_lose_nothing(world):
    """12 real ``rolecall write`` processes at once: 9 distinct profiles from three roles
    (cold cache, so they also race on STS and the keyring) and 3 on one profile."""
    arns = chain_config(world)
    header = "# top comment\n;semicolon comment\n\n"
    world.write_credentials(header + world.credentials.read_text() + "\n" + USER)
    world.credentials.chmod(0o644)
    original = world.credentials.read_text()
    env = environ(world)
    jobs = [["write", f"hop{i % 3 + 1}", "--as", f"p{i}"] for i in range(9)]
    jobs += [["write", "hop1", "--force"]] * 3  # (hop2 chains from hop1: --force says so)
    procs = [subprocess.Popen([sys.executable, "-m", "tui", *job], env=env, cwd=world.home,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for job in jobs]
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    text = world.credentials.read_text()
    assert text.startswith(original)
    parsed = parse(world.credentials)  # also proves a single [hop1]: duplicates would raise
    for i in range(9):
        values = parsed[f"p{i}"]
        role = arns[f"a{i % 3 + 1}"].rsplit("/", 1)[1]
        assert f":{ACCOUNTS[i % 3]}:assumed-role/{role}/" in values["x_principal_arn"]
        assert values["aws_session_token"] and values["x_managed_by"] == "rolecall"
    assert parsed["hop1"]["x_managed_by"] == "rolecall"
    assert text.count("[hop1]") == 1
    assert stat.S_IMODE(world.credentials.stat().st_mode) == 0o600
    assert not [p for p in world.aws.iterdir() if p.name.endswith(".tmp")]
    # the rolecall sections removed, the user's file is back byte for byte
    removed = credfile.remove([f"p{i}" for i in range(9)] + ["hop1"], path=world.credentials)
    assert len(removed) == 10
    assert world.credentials.read_text().rstrip("\n") == original.rstrip("\n")
    assert os.access(world.credentials, os.R_OK)


def test_crlf_and_non_ascii_bytes_are_kept(credentials):
    original = ("# café notes\r\n[personal]\r\naws_access_key_id = AKIAPERSONAL\r\n"
                "aws_secret_access_key = s\r\n").encode()
    credentials.write_bytes(original)
    credfile.write(session(), "alpha", path=credentials)
    assert credentials.read_bytes().startswith(original)
    credfile.remove(["alpha"], path=credentials)
    assert credentials.read_bytes().rstrip(b"\r\n") == original.rstrip(b"\r\n")
