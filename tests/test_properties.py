"""Bad input, generated: any AWS config, credentials file, catalog or argv either
works or exits 2 with one ``rolecall: `` message; never a traceback or internal error.
Session-name templates with arbitrary unicode always give a legal name or a clear error.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profiles.errors import RolecallError, UsageError
from profiles.model import Credentials, Session
from profiles.output import credfile
from profiles.sessions import names as session_names
from tui.cli import main

EXAMPLES = int(os.environ.get("ROLECALL_PROPERTY_EXAMPLES", "60"))  # heavier runs: 1000+
SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
KEYS = ["role_arn", "source_profile", "credential_source", "mfa_serial", "external_id",
        "duration_seconds", "role_session_name", "region", "mfa_mode",
        "aws_access_key_id", "aws_secret_access_key", "credential_process", "x_managed_by",
        "x_security_token_expires"]
NAMES = st.sampled_from(["a", "b", "c", "default", "base"])
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
VALUES = st.one_of(
    NAMES, TEXT, st.integers(-10, 100000).map(str),
    st.sampled_from(["arn:aws:iam::111111111111:role/R", "arn:aws:iam::1:role/R",
                     "Environment", "Ec2InstanceMetadata", "session", "direct", "1h",
                     "arn:aws:iam::000000000000:mfa/u", "rolecall", "2020-01-01T00:00:00Z"]),
)
LINE = st.one_of(
    st.tuples(st.sampled_from(KEYS), VALUES).map(lambda kv: f"{kv[0]} = {kv[1]}"),
    NAMES.map(lambda n: f"[profile {n}]"), NAMES.map(lambda n: f"[{n}]"),
    st.sampled_from(["# comment", "; comment", "", "  indented = 1", "novalue", "[", "= x",
                     "s3 =\n  max_concurrent_requests = 2"]),
    TEXT,
)
INI = st.lists(LINE, max_size=25).map("\n".join)


class Sandbox:
    """Files and environment for one generated example (hypothesis reuses the test)."""

    def __enter__(self) -> Sandbox:
        self.dir = Path(tempfile.mkdtemp(prefix="rolecall-prop-"))
        self.env = {
            "AWS_CONFIG_FILE": str(self.dir / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.dir / "credentials"),
            "ROLECALL_CONFIG": str(self.dir / "rolecall.toml"),
            "ROLECALL_STATE_DIR": str(self.dir / "state"),
            "ROLECALL_RUNTIME_DIR": str(self.dir / "run"),
            "ROLECALL_KEYRING_SERVICE": "rolecall-prop",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
            "DBUS_SESSION_BUS_ADDRESS": f"unix:path={self.dir}/no-bus",
            "KUBECONFIG": str(self.dir / "kube" / "config"),  # `eks kubeconfig` writes here
        }
        self.saved = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)
        return self

    def __exit__(self, *exc) -> None:
        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        import shutil

        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, name: str, text: str) -> None:
        (self.dir / name).write_text(text, encoding="utf-8", errors="surrogatepass")

    def run(self, *argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(argv))
        return code, out.getvalue(), err.getvalue()


def assert_clean(code: int, err: str, allowed: tuple[int, ...] = (0, 2)) -> None:
    assert code in allowed, err
    assert "Traceback" not in err and "internal error" not in err, err
    if code:
        assert err.startswith("rolecall: "), err


@SETTINGS
@given(config=INI, credentials=INI)
def test_any_aws_files_load_or_exit_2(config, credentials):
    with Sandbox() as box:
        box.write("config", config)
        box.write("credentials", credentials)
        code, _, err = box.run("list", "--json")
        assert_clean(code, err)


TOML_VALUE = st.recursive(
    st.one_of(st.booleans(), st.integers(-5, 50000), TEXT, VALUES),
    lambda inner: st.lists(inner, max_size=3), max_leaves=5)
TOML_TABLE = st.dictionaries(st.sampled_from(
    ["role_arn", "source", "external_id", "mfa_serial", "duration", "max_duration",
     "session_name", "region", "mfa_mode", "alias", "tags", "refresh_window", "bogus"]),
    TOML_VALUE, max_size=4)
CATALOG = st.fixed_dictionaries({}, optional={
    "settings": TOML_TABLE,
    "accounts": st.dictionaries(st.sampled_from(["111111111111", "2", "x"]), TOML_TABLE,
                                max_size=2),
    "roles": st.dictionaries(NAMES, TOML_TABLE, max_size=3),
    "extra": TOML_VALUE,
})


@SETTINGS
@given(catalog=CATALOG, garbage=st.one_of(st.none(), TEXT))
def test_any_catalog_loads_or_exits_2(catalog, garbage):
    import tomlkit

    with Sandbox() as box:
        box.write("config", "[profile base]\n[profile a]\nrole_arn = "
                  "arn:aws:iam::111111111111:role/A\nsource_profile = base\n")
        box.write("rolecall.toml", garbage if garbage is not None else tomlkit.dumps(catalog))
        code, _, err = box.run("list")
        assert_clean(code, err)


def _session() -> Session:
    exp = datetime.now(UTC) + timedelta(hours=1)
    return Session("k", "r", "role", "arn:aws:sts::1:assumed-role/R/x", exp, exp,
                   credentials=Credentials("ASIAPROPERTY", "s", "t", exp))


@SETTINGS
@given(existing=INI, name=st.one_of(NAMES, TEXT))
def test_credentials_writer_keeps_the_user_bytes_or_refuses(existing, name):
    with Sandbox() as box:
        box.write("credentials", existing)
        path = box.dir / "credentials"
        before = path.read_bytes()
        try:
            credfile.write(_session(), name, path=path)
        except RolecallError as exc:
            assert exc.exit_code in (1, 2)
            assert path.read_bytes() == before
            return
        after = path.read_text()
        assert "x_managed_by = rolecall" in after
        if f"[{name}]" not in before.decode("utf-8", "replace"):
            assert after.startswith(before.decode().rstrip("\n"))


@settings(max_examples=300, deadline=None)
@given(template=st.text(max_size=90), profile=st.text(max_size=30),
       env_value=st.text(max_size=30))
def test_session_name_templates_give_a_legal_name_or_a_clear_error(template, profile,
                                                                  env_value):
    try:
        name = session_names.render(template, profile, environ={"V": env_value})
    except UsageError as exc:
        assert exc.exit_code == 2 and "template" in exc.message
        return
    assert session_names.LEGAL.fullmatch(name), name


@settings(max_examples=300, deadline=None)
@given(name=st.text(max_size=80))
def test_explicit_session_names_are_checked(name):
    try:
        assert session_names.check_explicit(name) == name
        assert session_names.LEGAL.fullmatch(name)
    except UsageError:
        assert not session_names.LEGAL.fullmatch(name)


# Every command the argv property runs, with every option its parser declares. A new
# command joins COVERED (or, if it must not run unattended, say why in UNATTENDED_NEVER).
COVERED = ("list", "assume", "env", "exec", "shell", "write", "process", "sessions", "forget",
           "clean", "demo", "doctor", "lint", "sso", "discover", "serve", "audit", "run",
           "console", "completion", "keys", "prompt", "eks", "registry")
UNATTENDED_NEVER: dict[str, str] = {}


def _options() -> list[str]:
    from tui.cli.parser import build_parser

    parser, commands = build_parser()
    found = set(parser._option_string_actions)
    for name in COVERED:
        found |= set(commands.parsers[name]._option_string_actions)
    return sorted(found)


WORDS = st.sampled_from([
    *COVERED, *_options(), "sh", "fish", "xml", "1h", "13h", "abc", "a", "r", "base", "-",
    "--", "--bogus", "-x", "123456", "12345a", "--duration=1h", "--format=json", "asume",
    "login", "logout", "sync", "status", "--share", "--no-browser", "--all",  # sso's own
    "populate", "--prune", "--dry-run", "--template", "--device-code",
    "add", "rm", "rotate", "--stdin", "--yes",  # `keys` actions and theirs
    "token", "kubeconfig", "--cluster", "prod", "https://x.example",  # `eks`'s
    "list", "sync", "--prefix", "--dry-run", "--ref", "--path", "--priority",  # `registry`'s
])
UNDECODED = st.text(st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF), min_size=1,
                    max_size=2).map(lambda bad: "r" + bad)  # argv bytes the locale cannot decode
ROLE_ONLY = "[profile base]\n[profile r]\nrole_arn = arn:aws:iam::111111111111:role/R\n" \
    "source_profile = base\n"


def test_the_argv_property_covers_every_command():
    from tui.cli.parser import build_parser

    _, commands = build_parser()
    missing = set(commands.parsers) - set(COVERED) - set(UNATTENDED_NEVER)
    assert not missing, f"add {sorted(missing)} to COVERED in {__file__}"


@SETTINGS
@given(argv=st.lists(st.one_of(WORDS, TEXT, UNDECODED), max_size=7))
def test_any_arguments_work_or_fail_cleanly(argv):
    """Any argv: 0, or one clean ``rolecall: `` failure (1 or 2). Role ``r`` exists but
    its base has no keys, so nothing is ever assumed, executed or opened (the board and
    the demo are stubbed; ``serve`` stops as soon as it listens)."""
    from unittest import mock

    import tui.board.app
    import tui.cli.keys
    import tui.cli.serve
    import tui.demo.world

    if argv[:1] and argv[0] in UNATTENDED_NEVER:
        return
    no_tty = OSError(6, "No such device or address")  # `keys add`/`rm` never wait on one
    with Sandbox() as box, mock.patch.object(tui.board.app, "run_app", return_value=0), \
            mock.patch.object(tui.demo.world, "run_demo", return_value=0), \
            mock.patch.object(tui.cli.serve, "wait_for_stop", return_value=0), \
            mock.patch.object(tui.cli.keys, "_terminal", side_effect=no_tty), \
            mock.patch("sys.stdin", io.StringIO("")):
        box.write("config", ROLE_ONLY)
        code, _, err = box.run(*argv)
        if code == 3 and next((w for w in argv if not w.startswith("-")), "") == "doctor":
            assert err == ""  # doctor's "unknown": its report is on stdout
            return
        assert code in (0, 1, 2), err
        assert "internal error" not in err, err
        if "--debug" in argv:  # tracebacks asked for; the message still ends the report
            assert not code or any(line.startswith("rolecall: ") for line in err.splitlines())
        else:
            assert "Traceback" not in err, err
            assert not code or err.startswith("rolecall: "), err
