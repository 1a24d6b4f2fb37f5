"""Hostile AWS files and catalogs at load (see docs/architecture.md, Trust boundary): control
characters in names and
values, secrets in parse errors, Unicode digits, regions botocore rejects, and files that
are not files. Each case ends in a clean exit 2 (or a broken role), nothing echoed that
could be a secret, nothing blocking."""

from __future__ import annotations

import json
import os
import sys
import threading
import unicodedata

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from profiles.config import aws_files, inventory
from profiles.config.text import REGION, UNSAFE
from profiles.durations import parse_duration
from profiles.errors import ConfigError, UsageError
from tests.test_properties import SETTINGS, Sandbox, assert_clean

ARN = "arn:aws:iam::111111111111:role/R"
BASE = "[profile base]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = s\n"
UNSAFE_CHARS = st.sampled_from(["\x00", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\x9b", "\t",
                                "\u2028", "\u2029", "\u200b", "\u202e", "\u2066", "\ufeff",
                                "\U000e0041", "\xad"])
KEYS = ["region", "role_arn", "source_profile", "mfa_serial", "external_id",
        "role_session_name", "duration_seconds", "credential_source", "mfa_mode"]
MARK = "SECRETISH"


def _toml(text: str) -> str:
    """A TOML basic string holding ``text`` exactly (escapes for anything unusual)."""
    return '"' + "".join(c if c.isalnum() or c in "-_ " else
                         f"\\u{ord(c):04x}" if ord(c) < 0x10000 else f"\\U{ord(c):08x}"
                         for c in text) + '"'


def _spliced(text: str, char: str, at: int) -> str:
    at %= len(text) + 1
    return text[:at] + char + text[at:]


def test_the_unsafe_class_is_exactly_cc_cf_zl_zp_cs():
    cats = ("Cc", "Cf", "Zl", "Zp", "Cs")
    wrong = [hex(cp) for cp in range(sys.maxunicode + 1)
             if (unicodedata.category(chr(cp)) in cats) != bool(UNSAFE.match(chr(cp)))]
    assert wrong == [], wrong[:10]


@SETTINGS
@given(key=st.sampled_from(KEYS), char=UNSAFE_CHARS, at=st.integers(0, 40))
def test_a_control_character_in_a_value_breaks_that_role_only(key, char, at):
    values = {"role_arn": ARN, "source_profile": "base", "region": "eu-west-1",
              "mfa_serial": "arn:aws:iam::111111111111:mfa/me", "external_id": "ext-1234",
              "role_session_name": "ci-deploy", "duration_seconds": "3600",
              "credential_source": None, "mfa_mode": "direct"}
    values[key] = _spliced(values[key] or MARK, char, at) + MARK
    unsafe = bool(UNSAFE.search(values[key].strip()))  # configparser strips whitespace
    body = "".join(f"{k} = {v}\n" for k, v in values.items() if v is not None)
    with Sandbox() as box:
        box.write("config", BASE + f"[profile good]\nrole_arn = {ARN}\nsource_profile = base\n"
                  f"[profile bad]\n{body}")
        code, out, err = box.run("list", "--json")
        assert_clean(code, err, allowed=(0,))
        rows = {r["name"]: r for r in json.loads(out)}
        assert rows["good"]["state"] == "none"
        assert not UNSAFE.search(out.strip())
        if not unsafe:  # stripped off the ends: an ordinary value, valid or not
            return
        error = rows["bad"]["error"]
        assert rows["bad"]["state"] == "broken" and "control or line-separator" in error
        assert "profile 'bad'" in error and key in error and MARK not in error
        code, out, err = box.run("assume", "bad")
        assert_clean(code, err, allowed=(2,))
        assert MARK not in err and not UNSAFE.search(err.replace("\n", ""))


@SETTINGS
@given(char=UNSAFE_CHARS.filter(lambda c: c not in "\t"), at=st.integers(0, 10),
       where=st.sampled_from(["profile", "credentials", "catalog-role", "alias", "tag",
                              "audit_role"]))
def test_a_control_character_in_a_name_is_refused_at_load(char, at, where):
    name = _spliced("prod-admin", char, at)
    with Sandbox() as box:
        config = BASE + f"[profile ok]\nrole_arn = {ARN}\nsource_profile = base\n"
        escaped = _toml(name)
        if where == "profile":
            config += f"[profile {name}]\nrole_arn = {ARN}\nsource_profile = base\n"
        elif where == "credentials":
            box.write("credentials", f"[{name}]\naws_access_key_id = AKIA\n")
        elif where == "catalog-role":
            box.write("rolecall.toml", f'[roles.{escaped}]\nrole_arn = "{ARN}"\n'
                      'source = "base"\n')
        else:
            value = {"alias": f"alias = {escaped}", "audit_role": f"audit_role = {escaped}"
                     }.get(where, f"tags = [{escaped}]")
            box.write("rolecall.toml", f'[accounts."111111111111"]\n{value}\n')
        box.write("config", config)
        code, out, err = box.run("list", "--json")
        assume(where not in ("profile", "credentials") or "\x00" not in name)  # configparser
        assert_clean(code, err, allowed=(2,))
        assert "control or line-separator character" in err
        assert not UNSAFE.search(err.replace("\n", "")), repr(err)


SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"


@pytest.mark.parametrize("text", [
    f"[default]\naws_secret_access_key = {SECRET}\n{SECRET}\n",  # a stray pasted line
    f"aws_secret_access_key = {SECRET}\n[default]\n",  # before any section
    f"[default]\naws_secret_access_key = {SECRET}\naws_secret_access_key = {SECRET}\n",
    f"[{SECRET}]\n[{SECRET}]\n",  # duplicate section
    f"[default]\ns3 =\n  {SECRET}\n",  # nested block
    f"[default]\nkey = \udcff{SECRET}\n",  # not UTF-8
], ids=["stray-line", "no-section", "duplicate-key", "duplicate-section", "nested",
        "not-utf8"])
@pytest.mark.parametrize("file", ["config", "credentials"])
def test_parse_errors_name_file_and_line_never_the_text(text, file):
    with Sandbox() as box:
        box.write(file, text)
        code, _, err = box.run("list")
        assert_clean(code, err, allowed=(2,))
        assert "cannot parse" in err and str(box.dir / file) in err
        assert SECRET not in err, err
        if "nested" not in text:
            assert "line " in err


@SETTINGS
@given(lines=st.lists(st.one_of(
    st.just(f"aws_secret_access_key = {SECRET}"), st.just(SECRET), st.just("[default]"),
    st.just("[profile a]"), st.just("  indented"), st.just("k = v"), st.just("= x")),
    min_size=1, max_size=8))
def test_no_ini_error_ever_echoes_a_line(lines):
    with Sandbox() as box:
        box.write("config", "\n".join(lines))
        code, out, err = box.run("list", "--json")
        assert_clean(code, err)
        assert SECRET not in err


@pytest.mark.parametrize("text", [
    f'[settings]\nsession_name = "{SECRET}\n',  # unterminated string
    f'[roles.x]\n{SECRET} = \n',  # no value
    f'[roles.x]\nrole_arn = "a"\nrole_arn = "{SECRET}"\n',  # duplicate key
    f'[{SECRET}\n',
], ids=["unterminated", "no-value", "duplicate", "header"])
def test_toml_errors_name_the_position_never_the_text(text):
    with Sandbox() as box:
        box.write("config", BASE)
        box.write("rolecall.toml", text)
        code, _, err = box.run("list")
        assert_clean(code, err, allowed=(2,))
        assert "invalid TOML" in err and "line " in err and SECRET not in err


@SETTINGS
@given(text=st.text(st.characters(whitelist_categories=("Nd", "No")), min_size=1,
                    max_size=6))
def test_durations_take_only_ascii_digits(text):
    assume(not text.isascii())
    for spelled in (text, f"{text}h", f"1h{text}m"):
        with pytest.raises(UsageError):
            parse_duration(spelled)
    with Sandbox() as box:
        box.write("config", BASE + f"[profile r]\nrole_arn = {ARN}\nsource_profile = base\n"
                  f"duration_seconds = {text}\n")
        box.write("rolecall.toml", f'[roles.c]\nrole_arn = "{ARN}"\nsource = "base"\n'
                  f'duration = {_toml(text)}\n')
        code, out, err = box.run("list", "--json")
        assert_clean(code, err, allowed=(0,))
        assert {r["name"]: r["state"] for r in json.loads(out)} == {"r": "broken",
                                                                     "c": "broken"}
        assert_clean(*box.run("assume", "--duration", text, "r")[::2], allowed=(2,))


@SETTINGS
@given(region=st.text(st.characters(codec="ascii"), max_size=70))
def test_the_region_check_is_botocores(region):
    from botocore.exceptions import InvalidRegionError
    from botocore.utils import validate_region_name

    try:
        validate_region_name(region)
        botocore_ok = True
    except InvalidRegionError:
        botocore_ok = False
    ours = bool(REGION.fullmatch(region)) and not UNSAFE.search(region)
    assert ours == (botocore_ok and region != "" and "\n" not in region), region


def test_an_invalid_region_is_exit_2_naming_the_profile():
    with Sandbox() as box:
        box.write("config", BASE + f"[profile r]\nrole_arn = {ARN}\nsource_profile = base\n"
                  "region = moon-1 # a comment\n")
        code, _, err = box.run("assume", "r")
        assert_clean(code, err, allowed=(2,))
        assert "profile 'r'" in err and "invalid region" in err


def _special(kind: str, path) -> None:
    if kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "symlink-loop":
        os.symlink(path.name + ".b", path)
        os.symlink(path.name, str(path) + ".b")
    elif kind == "device":
        os.symlink("/dev/zero", path)  # reading it would never end
    elif kind == "unreadable":
        path.write_text(BASE)
        path.chmod(0)


@pytest.mark.parametrize("kind", ["directory", "fifo", "symlink-loop", "device",
                                  "unreadable"])
@pytest.mark.parametrize("file", ["config", "credentials", "rolecall.toml"])
def test_a_file_that_is_not_a_file_is_a_clear_error_and_never_blocks(kind, file):
    if kind == "unreadable" and os.geteuid() == 0:
        pytest.skip("root reads a mode-0 file")
    with Sandbox() as box:
        box.write("config", BASE)
        path = box.dir / file
        path.unlink(missing_ok=True)
        _special(kind, path)
        result: list = []
        worker = threading.Thread(target=lambda: result.append(box.run("list")), daemon=True)
        worker.start()
        worker.join(30)
        assert result, "rolecall blocked opening it"
        code, _, err = result[0]
        assert_clean(code, err, allowed=(2,))
        assert str(path) in err
        assert {"directory": "is a directory", "fifo": "is a fifo",
                "symlink-loop": "symlink loop", "device": "is a device",
                "unreadable": "cannot read"}[kind] in err


def test_dev_null_reads_as_an_empty_file():
    with Sandbox() as box:
        box.write("config", BASE + f"[profile r]\nrole_arn = {ARN}\nsource_profile = base\n")
        os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
        code, out, err = box.run("list", "--json")
        assert_clean(code, err, allowed=(0,))
        assert [r["name"] for r in json.loads(out)] == ["r"]


INI_LINE = st.one_of(
    st.tuples(st.sampled_from(["role_arn", "Region", "s3", "source_profile", "x"]),
              st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
                      max_size=12)).map(lambda kv: f"{kv[0]} = {kv[1]}"),
    st.sampled_from(["[default]", "[profile a]", "[profile \"b c\"]", "[services s]",
                     "[sso-session x]", "  k = v", "  bad", "# c", "; c", "", "[DEFAULT]",
                     "x", "[profile a]\n[profile a]"]),
)


@SETTINGS
@given(lines=st.lists(INI_LINE, max_size=12), newline=st.sampled_from(["\n", "\r\n", "\r"]))
def test_the_safe_reader_parses_exactly_as_botocore(lines, newline, tmp_path_factory):
    from botocore.configloader import raw_config_parse
    from botocore.exceptions import ConfigParseError

    path = tmp_path_factory.mktemp("ini") / "config"
    path.write_bytes(newline.join(lines).encode())
    try:
        expected = raw_config_parse(str(path))
    except ConfigParseError:
        with pytest.raises(ConfigError):
            aws_files.parse(path)
        return
    assert aws_files.parse(path) == expected


def test_a_broken_profile_never_breaks_loading(tmp_path):
    config = tmp_path / "config"
    config.write_text(BASE + f"[profile r]\nrole_arn = {ARN}\nsource_profile = base\n"
                      "[profile x]\nrole_arn = nope\nsource_profile = base\n")
    inv = inventory.load(config, tmp_path / "credentials", tmp_path / "none.toml")
    assert set(inv.roles) == {"r"} and set(inv.broken) == {"x"}
    with pytest.raises(ConfigError, match="malformed role_arn"):
        inv.chain("x")
