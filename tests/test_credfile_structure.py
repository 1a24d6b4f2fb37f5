"""Text never becomes structure in the credentials file (see docs/architecture.md, Trust boundary).

Every check reads the result with botocore's own loader
(``botocore.configloader.raw_config_parse``), the reader the AWS CLI and SDKs use:
after a write it must see exactly the sections there were plus the one written, the
written one holding exactly the values given (and the user's own keys), and every other
section unchanged; or the write is refused (exit 2) and the file is byte-identical.
"""

from __future__ import annotations

import os
import tempfile
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from botocore.configloader import raw_config_parse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profiles.errors import RolecallError, UsageError
from profiles.model import Credentials, Session
from profiles.output import credfile, ini
from tests.helpers import assert_fails, chain_config

EXAMPLES = int(os.environ.get("ROLECALL_PROPERTY_EXAMPLES", "60"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])
EXPIRES = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
INJECTION = "team\n[default]\ncredential_process = sh -c 'touch /tmp/rolecall-pwned'"
BREAKS = ["\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028",
          "\u2029", "\0", "\x1b", "\x7f"]
PIECES = st.sampled_from([*BREAKS, "[default]", "[profile x]", "credential_process = x",
                          " = ", ":", "#", ";", "%(x)s", "  indented", "]", "[", "\t", " ",
                          "\u00a0", "\ufeff", "\u202e", "DEFAULT"])
HOSTILE = st.lists(st.one_of(PIECES, st.text(st.characters(blacklist_categories=("Cs",)),
                                             max_size=8)), max_size=6).map("".join)


def make(role: str = "r", key: str = "ASIATEST", secret: str = "s", token: str = "t",
         arn: str = "arn:aws:sts::111111111111:assumed-role/R/x") -> Session:
    creds = Credentials(key, secret, token, EXPIRES)
    return Session("k", role, "role", arn, EXPIRES, EXPIRES - timedelta(hours=1),
                   credentials=creds)


def botocore_reads(path: Path) -> dict[str, dict[str, str]]:
    return raw_config_parse(str(path), parse_subsections=False)


def ours(session: Session) -> dict[str, str]:
    c = session.credentials
    assert c is not None
    return {"aws_access_key_id": c.access_key_id, "aws_secret_access_key": c.secret_access_key,
            "aws_session_token": c.session_token, "x_security_token_expires":
            "2030-01-02T03:04:05Z", "x_principal_arn": session.arn,
            "x_rolecall_role": session.role, "x_managed_by": "rolecall"}


def one_value(value: str) -> bool:
    """What an INI value can hold and read back: no control or line-break character
    (the categories botocore's readers split or choke on), no outer whitespace."""
    return value == value.strip() and not any(
        unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp") for ch in value)


USER = ("# shared team file\n[personal]\naws_access_key_id = AKIAPERSONAL\n"
        "aws_secret_access_key = personal/secret\n\n[profile odd]\nregion = eu-west-1\n")


@pytest.fixture
def creds(tmp_path, monkeypatch):
    monkeypatch.setenv("ROLECALL_STATE_DIR", str(tmp_path / "state"))
    path = tmp_path / "credentials"
    path.write_text(USER)
    return path


# -- class 1: config text becomes structure ----------------------------------------------


def test_the_issue_payload_is_refused_and_the_file_untouched(creds):
    before = creds.read_bytes()
    for session in (make(role=INJECTION), make(arn=INJECTION), make(token="t\r[default]"),
                    make(key="A\u2028[default]"), make(secret="s\x85x"), make(key=" A")):
        with pytest.raises(UsageError) as caught:
            credfile.write(session, "team", path=creds)
        assert caught.value.exit_code == 2
        assert "team" not in caught.value.message.replace("[team]", "")  # names no value
        assert creds.read_bytes() == before
    assert set(botocore_reads(creds)) == {"personal", "profile odd"}


def test_default_is_not_a_profile_name(creds):
    """configparser merges [DEFAULT] into every section: writing it would put rolecall's
    keys into every profile of the file."""
    with pytest.raises(UsageError, match="DEFAULT"):
        credfile.write(make(), "DEFAULT", path=creds)


@SETTINGS
@given(role=HOSTILE, arn=HOSTILE, token=HOSTILE)
def test_any_value_reads_back_exactly_or_is_refused(creds, role, arn, token):
    creds.write_text(USER)
    session = make(role=role, arn=arn, token=token)
    try:
        credfile.write(session, "team", path=creds)
    except UsageError as exc:
        assert exc.exit_code == 2
        assert not all(one_value(v) for v in (role, arn, token)), (role, arn, token)
        assert creds.read_text() == USER
        return
    assert all(one_value(v) for v in (role, arn, token))
    got = botocore_reads(creds)
    assert set(got) == {"personal", "profile odd", "team"}
    assert got["team"] == ours(session)
    assert got["personal"]["aws_access_key_id"] == "AKIAPERSONAL"
    assert creds.read_text().startswith(USER)


INI_LINE = st.one_of(
    st.sampled_from(["[a]", "[b]", "[ c ]", "[DEFAULT]", "[profile d]", "x = 1", "y: 2",
                     "  z = 3", "  [e]", "# c", "; c", "", "   ", "region = eu",
                     "aws_security_token = old", "x_managed_by = rolecall",
                     "X_MANAGED_BY = rolecall", "AWS_ACCESS_KEY_ID = OLD", "[team]",
                     "  aws_session_token = old", "s3 =", "  max = 2"]),
    HOSTILE.map(lambda t: t.replace("\n", "").replace("\r", "")),
)
INI = st.tuples(st.lists(INI_LINE, max_size=20), st.sampled_from(["\n", "\r\n", "\r"]),
                st.booleans()).map(lambda t: t[1].join(t[0]) + (t[1] if t[2] else ""))


@SETTINGS
@given(existing=INI, force=st.booleans())
def test_any_file_gets_exactly_the_profile_meant_or_is_left_alone(creds, existing, force):
    """Generated files (headers that are continuations, [DEFAULT], odd keys, CR-only
    endings): the write gives botocore every old section unchanged plus [team] holding
    rolecall's values and the user's own keys, or it is refused byte for byte."""
    creds.write_bytes(existing.encode())
    try:
        old = botocore_reads(creds)
    except Exception:  # noqa: BLE001 - botocore itself cannot read it
        old = None
    session = make(role="r", key="ASIANEW")
    try:
        credfile.write(session, "team", path=creds, force=force)
    except RolecallError as exc:
        assert exc.exit_code in (1, 2)
        assert creds.read_bytes() == existing.encode()
        return
    assert old is not None, "a file botocore cannot read was edited"
    got = botocore_reads(creds)
    assert set(got) == set(old) | {"team"}
    for name in old:
        if name != "team":
            assert got[name] == old[name], name
    assert {k: got["team"][k] for k in ours(session)} == ours(session)
    assert "aws_security_token" not in got["team"] or "aws_security_token" in (
        ini.parse_with_defaults(existing)[1])
    assert not [p for p in creds.parent.iterdir() if p.name.endswith(".tmp")]


def test_an_edit_that_would_turn_a_header_into_a_value_is_refused(creds):
    """Removing [gone] would leave the indented ``  [next]`` under ``k = v``, where
    configparser reads it as a continuation of k: [next] would vanish. botocore's read of
    the temp file catches it and nothing is written."""
    text = ("[keep]\nk = v\n[gone]\n  aws_access_key_id = A\n  x_managed_by = rolecall\n"
            "  x_security_token_expires = 2001-01-01T00:00:00Z\n  [next]\n  y = 1\n")
    creds.write_text(text)
    assert set(botocore_reads(creds)) == {"keep", "gone", "next"}
    with pytest.raises(UsageError, match="would change how botocore reads") as caught:
        credfile.remove(["gone"], path=creds)
    assert caught.value.exit_code == 2 and "'next'" in caught.value.message
    assert creds.read_text() == text
    assert not [p for p in creds.parent.iterdir() if p.name.endswith(".tmp")]


def test_the_line_model_agrees_with_botocore_on_generated_files():
    """The writer's line model (which lines are headers, keys, continuations: what the
    expectation checked after an edit is built from) and ini.parse_with_defaults agree
    with botocore's read of the same bytes."""

    @SETTINGS
    @given(text=INI)
    def check(text):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "c"
            path.write_bytes(text.encode())
            try:
                expected = botocore_reads(path)
            except Exception:  # noqa: BLE001
                expected = None
        try:
            got = ini.parse_with_defaults(text)[0]
        except Exception:  # noqa: BLE001
            got = None
        assert got == expected
        lines = ini.split_lines(text)
        assert "".join(lines) == text
        if expected is not None:
            keys = credfile._keys(ini.classify(lines))
            assert keys == {s: set(v) for s, v in expected.items()}

    check()


def test_cli_write_of_a_hostile_catalog_role_exits_2_and_no_default_appears(world):
    arns = chain_config(world)
    toml_name = INJECTION.replace("\n", "\\n")
    world.catalog.write_text(f'[roles."{toml_name}"]\nrole_arn = "{arns["a1"]}"\n'
                             'source = "base"\n')
    before = world.credentials.read_bytes()
    result = world.run("write", INJECTION, "--as", "team")
    assert_fails(result, 2)
    assert world.credentials.read_bytes() == before
    assert "default" not in botocore_reads(world.credentials)
    assert not Path("/tmp/rolecall-pwned").exists()


# -- class 7: user edits inside a managed section, line endings ---------------------------


def test_user_keys_and_comments_inside_a_managed_section_are_kept(creds):
    credfile.write(make(key="ASIAOLD"), "team", path=creds)
    text = creds.read_text().replace(
        "x_managed_by = rolecall\n",
        "x_managed_by = rolecall\n# my region, keep it\nregion = eu-central-1\n"
        "output = json\n").replace("aws_session_token", "AWS_SESSION_TOKEN")
    text = text.replace("x_principal_arn", "aws_security_token = stale\nx_principal_arn")
    creds.write_text(text)
    credfile.write(make(key="ASIANEW", token="fresh"), "team", path=creds)
    after = creds.read_text()
    assert "# my region, keep it\nregion = eu-central-1\noutput = json\n" in after
    got = botocore_reads(creds)["team"]
    assert got["region"] == "eu-central-1" and got["output"] == "json"
    assert got["aws_access_key_id"] == "ASIANEW" and got["aws_session_token"] == "fresh"
    assert "aws_security_token" not in got  # botocore would read it before the new token
    assert after.count("aws_session_token") == 1 and "AWS_SESSION_TOKEN" not in after
    # rolecall's keys stay where they were: the user's lines still follow x_managed_by
    assert after.index("x_managed_by") < after.index("# my region")


def test_an_indented_managed_section_keeps_its_indent_and_its_user_keys(creds):
    creds.write_text("[team]\n  aws_access_key_id = OLD\n  x_managed_by = rolecall\n"
                     "  region = eu-west-3\n[after]\nk = v\n")
    credfile.write(make(), "team", path=creds)
    got = botocore_reads(creds)
    assert got["team"] == {**ours(make()), "region": "eu-west-3"}
    assert got["after"] == {"k": "v"}
    assert "  aws_secret_access_key = s\n" in creds.read_text()


@pytest.mark.parametrize("eol", ["\r\n", "\n", "\r"])
@pytest.mark.parametrize("final", [True, False])
def test_the_files_line_ending_is_kept(creds, eol, final):
    text = eol.join(["# notes", "[personal]", "aws_access_key_id = AKIAPERSONAL",
                     "aws_secret_access_key = s"]) + (eol if final else "")
    creds.write_bytes(text.encode())
    credfile.write(make(key="ASIAONE"), "team", path=creds)
    credfile.write(make(key="ASIATWO"), "team", path=creds)
    credfile.write(make(), "other", path=creds)
    data = creds.read_bytes()
    assert data.startswith(text.encode())
    endings = ini.split_lines(data.decode())
    assert {ini.eol(line) for line in endings} == {eol}, "mixed line endings"
    assert botocore_reads(creds)["team"]["aws_access_key_id"] == "ASIATWO"
    credfile.remove(["team", "other"], path=creds)
    assert creds.read_bytes().rstrip(eol.encode()) == text.encode().rstrip(eol.encode())


USER_LINE = st.one_of(
    st.sampled_from(["# mine", "; mine", "", "region = eu-west-1", "output: json",
                     "cli_pager =", "  # indented comment", "s3 =\n  max_concurrent = 4"]),
    st.tuples(st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True), HOSTILE).map(
        lambda kv: f"{kv[0]} = {kv[1].replace(chr(13), '').replace(chr(10), '')}"),
)


@SETTINGS
@given(user=st.lists(USER_LINE, max_size=8), eol=st.sampled_from(["\n", "\r\n"]),
       where=st.integers(0, 7))
def test_generated_user_edits_in_a_managed_section_survive_a_rewrite(creds, user, eol,
                                                                    where):
    creds.write_text("")
    credfile.write(make(key="ASIAOLD"), "team", path=creds)
    lines = creds.read_text().split("\n")[:-1]
    added = "\n".join(user).split("\n") if user else []
    at = 1 + where  # somewhere among rolecall's seven keys
    text = eol.join(lines[:at] + added + lines[at:]) + eol
    creds.write_bytes(text.encode())
    try:
        before = botocore_reads(creds)["team"]
    except Exception:  # noqa: BLE001 - the generated edit itself broke the file
        return
    user_keys = {k: v for k, v in before.items() if k not in credfile.OWNED}
    try:
        credfile.write(make(key="ASIANEW"), "team", path=creds)
    except UsageError:
        assert creds.read_bytes() == text.encode()
        return
    got = botocore_reads(creds)["team"]
    assert got == {**user_keys, **ours(make(key="ASIANEW"))}
    assert {ini.eol(line) for line in ini.split_lines(creds.read_bytes().decode())} == {eol}
    for line in added:
        if line.strip().startswith(("#", ";")):
            assert line in creds.read_bytes().decode()
