"""The terminal door, swept over the CLI: a hostile corpus (control bytes, ESC sequences
with OSC 52 and OSC 0, SGR, C1, DEL, bidi controls, zero-width marks, line separators,
very long and non-UTF-8 values) from every source (the AWS config and the catalog, file
names, STS's answers, CloudTrail events, the IAM Identity Center portal, Organizations,
policy files), and every command the parser has (``tests/doors_world.py``, text and
``--json``): nothing a terminal would act on reaches stdout or stderr.

The board's screens are swept in ``tests/test_doors_board.py``.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import World
from tests.doors_world import RECIPES, raw_controls, run, sweep_world
from tests.fake_sts import FakeSts, StsHandler, serve, sts_error
from tests.fakes.fixtures import cloudtrail_fake, sso_fakes  # noqa: F401
from tests.helpers import assert_fails

ESC = "\x1b]52;c;cm0gLXJmIH4K\x07\x1b]0;owned\x07\x1b[31;1mred\x1b[0m"  # clipboard, title, SGR
C0 = "bell\x07back\x08cr\rtab\tvt\x0bdel\x7f"
C1 = "\x9b2J\x9d0;t\x9c\x85"  # CSI, OSC, ST, NEL: 8-bit terminals act on them
BIDI = "\u202eevil\u202c\u2066iso\u2069\u200f"
ZERO_WIDTH = "a\u200bb\u200dc\ufeffd\u2060"
SEPARATORS = "line\u2028para\u2029"
LONG = "L" * 6000 + ESC
HOSTILE = [ESC, C0, C1, BIDI, ZERO_WIDTH, SEPARATORS, LONG]
XML_SAFE = f"{C1}{BIDI}{ZERO_WIDTH}{SEPARATORS}\x7f"  # what XML 1.0 can carry (no ESC)
UNDECODABLE = b"\xff\xfe\x80"


def assert_terminal_safe(outputs: list[tuple[list[str], int, str, str]]) -> str:
    """No output of any run holds a raw control; returns them all, joined."""
    for argv, code, out, err in outputs:
        assert "Traceback" not in err and "internal error" not in err, (argv, err)
        for stream in (out, err):
            assert raw_controls(stream) == [], (argv, code, stream[:2000])
    return "\n".join(out + err for _, _, out, err in outputs)


def run_all(extra: list[list[str]] = ()) -> list[tuple[list[str], int, str, str]]:
    """Every command's recipes, then ``extra``: argv, exit status, stdout, stderr."""
    outputs = []
    for command in sorted(RECIPES):
        for argv in RECIPES[command]:
            outputs.append((argv, *run(*argv)))
    return outputs + [(argv, *run(*argv)) for argv in extra]


# -- the sources ------------------------------------------------------------------------

def config_names(world: World, request) -> tuple[list[list[str]], str | None]:
    """A profile and a role named with escapes: refused at load, the name spelled out."""
    names = "".join(f"[profile r{h[:200].replace(chr(10), '')}]\nregion = us-east-1\n\n"
                    for h in (ESC, C1, BIDI, ZERO_WIDTH))
    world.write_config(world.config.read_text() + names)
    return [], "\\x1b]52;c;"


def catalog_values(world: World, request) -> tuple[list[list[str]], str | None]:
    """A catalog role named with escapes (refused at load, the name spelled out)."""
    world.catalog.write_text(f'[roles."x{json.dumps(ESC + BIDI)[1:-1]}"]\nrole_arn = "a"\n')
    return [], "\\u202e"


def file_names(world: World, request) -> tuple[list[list[str]], str | None]:
    """AWS_CONFIG_FILE in a directory named with escapes, pointing at a directory."""
    odd = world.home / f"d{ESC}{BIDI}" / "config"
    odd.mkdir(parents=True)
    request.getfixturevalue("monkeypatch").setenv("AWS_CONFIG_FILE", str(odd))
    return [["lint", str(odd)]], "\\x1b]52;c;"


def sts_answers(world: World, request) -> tuple[list[list[str]], str | None]:
    """STS refuses everything, its message full of what XML can carry."""
    message = (XML_SAFE * 3).replace("&", "&amp;").replace("<", "&lt;")

    class Denying(StsHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.read_form()
            self.send(403, sts_error("AccessDenied", message))

    server, url = serve(Denying)
    request.addfinalizer(server.shutdown)
    request.getfixturevalue("monkeypatch").setenv("AWS_ENDPOINT_URL_STS", url)
    return [], "\\u202e"


class GrantingSts(FakeSts):
    """STS that grants every request, naming the new session with what XML can carry."""

    def answer(self, form: dict[str, str]) -> str:
        hostile = XML_SAFE.replace("&", "&amp;").replace("<", "&lt;")
        return super().answer(form).replace("</Arn>", f"{hostile}</Arn>")


def sts_grants(world: World, request) -> tuple[list[list[str]], str | None]:
    """The session STS grants has an ARN full of what XML can carry (it is cached and
    shown by every command that lists sessions)."""
    sts = GrantingSts()
    request.addfinalizer(sts.stop)
    request.getfixturevalue("monkeypatch").setenv("AWS_ENDPOINT_URL_STS", sts.url)
    assert run("forget", "--all")[0] == 0
    assert run("assume", "r")[0] == 0
    return [], "\\u202e"


def cloudtrail_events(world: World, request) -> tuple[list[list[str]], str | None]:
    """Who assumed r, according to a CloudTrail whose every field is hostile."""
    trail = request.getfixturevalue("cloudtrail_fake")
    request.getfixturevalue("monkeypatch").setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", trail.url)
    arn = world.config.read_text().split("role_arn = ")[1].split("\n")[0]
    when = datetime.now(UTC) - timedelta(minutes=5)
    for hostile in HOSTILE:
        trail.assume_role(arn, f"s{hostile}", f"arn:aws:iam::999999999999:user/{hostile}",
                          when=when, source_ip=hostile, user_agent=hostile)
    return [], "\\x1b]52;c;"


def sso_portal(world: World, request) -> tuple[list[list[str]], str | None]:
    """A portal whose account names, device code and verification page are hostile."""
    fakes = request.getfixturevalue("sso_fakes")
    monkeypatch = request.getfixturevalue("monkeypatch")
    for key, value in fakes.env.items():
        monkeypatch.setenv(key, value)
    center = fakes.center
    for index, hostile in enumerate(HOSTILE):
        center.add_account(f"{index + 1:012d}", f"acct{hostile}", roles=("ReadOnly",))
    oidc = type(fakes.oidc)
    started = oidc._StartDeviceAuthorization

    def hostile_device(self, params):
        answer = started(self, params)
        center.deny(answer["userCode"])  # the person says no: the login ends at once
        return {**answer, "userCode": f"CODE{ESC}", "verificationUri": f"https://x/{ESC}",
                "verificationUriComplete": f"https://x/{BIDI}"}

    monkeypatch.setattr(oidc, "_StartDeviceAuthorization", hostile_device)
    world.write_config(world.config.read_text() + (
        f"[sso-session corp]\nsso_start_url = {center.start_url}\nsso_region = us-east-1\n"
        "sso_registration_scopes = sso:account:access\n"))
    log_in(center)  # so `list` and `sso sync` list the hostile accounts
    # The core already drops controls from the device prompt: what is left of it shows.
    return [["sso", "login", "corp", "--no-browser"]], "]52;c;cm0gLXJmIH4K"


def log_in(center) -> None:
    """A token in the keyring as a finished device flow leaves it."""
    from profiles.config import inventory
    from profiles.estate import sso
    from profiles.estate.tokens import Token, TokenStore
    from profiles.sessions.cache import SessionCache

    issued = center.issue_token()
    session = sso.resolve(inventory.load(), "corp")
    token = Token(issued.access_token, issued.expires_at, issued.refresh_token)
    TokenStore.of(SessionCache()).put_token(session, token)


def organizations(world: World, request) -> tuple[list[list[str]], str | None]:
    """An organization whose account names are hostile; ``discover`` proposes them."""
    moto = world.moto
    management = f"{random.randrange(10**11, 10**12):012d}"
    orgs = moto.client("organizations", management)
    orgs.create_organization(FeatureSet="ALL")
    for index, hostile in enumerate(HOSTILE):
        orgs.create_account(AccountName=f"n{hostile[:40]}", Email=f"{index}@example.com")
    world.base_profile("orgbase", account=management)
    reader = moto.create_role(management, "OrgReader")
    world.write_config(world.config.read_text() + f"[profile org]\nrole_arn = {reader}\n"
                       "source_profile = orgbase\nregion = us-east-1\n")
    return [["discover", "--role-name", "R", "--source", "org"]], None


def policy_files(world: World, request) -> tuple[list[list[str]], str | None]:
    """Trust policies whose principals, conditions and sids are hostile."""
    statements = [{"Sid": f"s{h[:50]}", "Effect": "Allow", "Action": "sts:AssumeRole",
                   "Principal": {"AWS": f"arn:aws:iam::123456789012:user/{h[:100]}"},
                   "Condition": {"StringLike": {f"aws:{h[:20]}": "*"}}} for h in HOSTILE]
    policy = world.home / f"p{BIDI}.json"
    policy.write_text(json.dumps({"Version": "2012-10-17", "Statement": statements}))
    raw = world.home / "raw.json"
    raw.write_bytes(b'{"Statement": [{"Sid": "' + UNDECODABLE + b'"}]}')
    argv = [["lint", str(policy)], ["lint", str(policy), "--json"], ["lint", str(raw)],
            ["doctor", "r", "--trust-policy", str(policy)],
            ["doctor", "r", "--trust-policy", str(policy), "--json"]]
    return argv, "\\u202e"


SOURCES = {f.__name__: f for f in (config_names, catalog_values, file_names, sts_answers,
                                   sts_grants,
                                   cloudtrail_events, sso_portal, organizations,
                                   policy_files)}


@pytest.mark.parametrize("source", list(SOURCES))
def test_no_command_prints_a_raw_control_from(world, monkeypatch, request, source):
    """Every command, text and JSON, with ``source`` hostile."""
    sweep_world(world, monkeypatch)
    assert run("assume", "r")[0] == 0  # a session, so commands get as far as they can
    extra, marker = SOURCES[source](world, request)
    drawn = assert_terminal_safe(run_all(extra))
    if marker is not None:  # the hostile text did reach the terminal, spelled out
        assert marker in drawn, source


def test_the_corpus_is_what_a_terminal_acts_on():
    """Each hostile value is caught by the check the sweeps use (so none passes
    vacuously), and the door shows it safely."""
    from profiles.doors.terminal import block, shown

    for hostile in [*HOSTILE, UNDECODABLE]:
        assert raw_controls(hostile), repr(hostile)
        assert raw_controls(shown(hostile)) == []
        assert raw_controls(block(hostile)) == []


# -- the regressions: raw names from clean, bidi from lint, a long number --------------

def test_clean_spells_out_the_names_it_removes(world: World):
    """`clean` printed the removed sections' names raw (an escape in a name, one that a
    shared credentials file can hold, reached the terminal)."""
    world.write_config("")
    name = f"old{ESC}"
    world.write_credentials(f"[{name}]\naws_access_key_id = ASIAOLD\naws_secret_access_key = x\n"
                            "aws_session_token = t\nx_security_token_expires = "
                            "2001-01-01T00:00:00Z\nx_managed_by = rolecall\n")
    done = world.run("clean")
    assert done.returncode == 0, done.stderr
    assert raw_controls(done.stdout) == [], done.stdout
    assert "removed [old\\x1b]52;c;" in done.stdout
    assert name not in world.credentials.read_text()


def test_lint_spells_out_bidi_overrides(world: World, tmp_path: Path):
    """`lint`'s text output passed U+202E: a principal could read backwards on screen."""
    policy = tmp_path / "trust.json"
    policy.write_text(json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"AWS": "arn:aws:iam::123456789012:user/\u202eresu-live"}}]}))
    done = world.run("lint", str(policy))
    assert done.returncode == 1, done.stderr  # findings at or above high
    assert raw_controls(done.stdout) == [], done.stdout
    assert "user/\\u202eresu-live" in done.stdout


@pytest.mark.parametrize("command", [["lint"], ["doctor", "r", "--trust-policy"]])
def test_a_number_of_thousands_of_digits_is_bad_input(world: World, tmp_path, command):
    """A JSON number over 4,300 digits made int() refuse it: "internal error", exit 1."""
    world.write_config("[profile base]\n[profile r]\nrole_arn = "
                       "arn:aws:iam::111111111111:role/R\nsource_profile = base\n")
    policy = tmp_path / "trust.json"
    policy.write_text('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
                      '"Principal": {"AWS": "*"}, "Action": "sts:AssumeRole", "Condition": '
                      '{"NumericLessThan": {"aws:MultiFactorAuthAge": ' + "9" * 5000 + "}}}]}")
    assert_fails(world.run(*command, str(policy)), 2, str(policy), "4,300 digits")
