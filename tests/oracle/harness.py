"""Resolve one scenario with botocore itself and with rolecall, both observed through the
recording proxy, and compare what they sent hop by hop.

Both sides run in this process with the scenario's files and environment: botocore as
``Session(profile=ROLE).get_credentials()`` with its default resolver (its MFA prompter
answering the scenario's code), rolecall through ``inventory.load`` and an ``Engine``
with an in-memory cache. Every botocore client either side makes is redirected to the
proxy by a ``before-send`` hook that keeps the endpoint botocore chose.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import botocore.session

from profiles.config import inventory
from profiles.errors import RolecallError
from profiles.sessions import sts
from profiles.sessions.cache import SessionCache
from profiles.sessions.engine import Engine
from tests.oracle import corpus
from tests.oracle.differences import DIFFERENCES
from tests.oracle.fakes import PROCESS_SCRIPT, CredentialServer
from tests.oracle.outcome import Outcome, calls_of
from tests.oracle.proxy import Proxy, redirect

CODE = "123456"
TEMPLATE = "botocore-session-{unix}"  # botocore's default name, as rolecall's template
CLEARED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
           "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL",
           "AWS_ENDPOINT_URL_STS", "AWS_STS_REGIONAL_ENDPOINTS",
           "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
           "AWS_CONTAINER_AUTHORIZATION_TOKEN",
           "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_EC2_METADATA_DISABLED", "AWS_ROLE_ARN",
           "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_SESSION_NAME", "AWS_CA_BUNDLE",
           "AWS_USE_FIPS_ENDPOINT", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "ROLECALL_ROLE")


@dataclass
class Files:
    config: Path
    credentials: Path
    catalog: Path
    state: Path
    env: dict[str, str]


class Oracle:
    """The proxy in front of moto and the fake credential sources, for many scenarios."""

    def __init__(self, moto_url: str) -> None:
        self.proxy = Proxy(moto_url)
        self.sources = CredentialServer()

    def stop(self) -> None:
        self.proxy.stop()
        self.sources.stop()

    @contextlib.contextmanager
    def observing(self):
        """Every botocore client made meanwhile sends through the proxy; botocore's SSO
        token cache (a directory fixed from HOME at import) is the scenario's."""
        from botocore.credentials import SSOProvider
        from botocore.tokens import SSOTokenProvider

        original = botocore.session.Session.create_client
        hook = redirect(self.proxy.url)
        caches = (SSOProvider._SSO_TOKEN_CACHE_DIR, SSOTokenProvider._SSO_TOKEN_CACHE_DIR)

        def create_client(session, *args, **kwargs):
            client = original(session, *args, **kwargs)
            client.meta.events.register("before-send", hook)
            return client

        botocore.session.Session.create_client = create_client
        # One data loader for every session (botocore's bundled JSON models, read once):
        # the oracle makes hundreds of sessions, a user's process one.
        loaders: dict = {}
        make_loader = botocore.session.create_loader
        botocore.session.create_loader = lambda path=None: loaders.setdefault(
            path, make_loader(path))
        sso = os.path.join(os.environ["HOME"], ".aws", "sso", "cache")
        SSOProvider._SSO_TOKEN_CACHE_DIR = SSOTokenProvider._SSO_TOKEN_CACHE_DIR = sso
        try:
            yield
        finally:
            botocore.session.Session.create_client = original
            botocore.session.create_loader = make_loader
            SSOProvider._SSO_TOKEN_CACHE_DIR, SSOTokenProvider._SSO_TOKEN_CACHE_DIR = caches

    # -- a scenario's world ---------------------------------------------------------------

    def prepare(self, scenario: corpus.Scenario, home: Path, mode: str = "session") -> Files:
        """Write the scenario's files under ``home``; the environment to run it in."""
        home.mkdir(parents=True, exist_ok=True)
        token = home / "web-identity-token"
        token.write_text("oracle.web.identity.token")
        script = home / "process_creds.py"
        script.write_text(PROCESS_SCRIPT)
        values = {"imds": self.sources.url, "container": f"{self.sources.url}/creds",
                  "process": f"{sys.executable} {script}", "token": str(token),
                  "home": str(home)}
        files = Files(home / "config", home / "credentials", home / "rolecall.toml",
                      home / "state", {})
        files.config.write_bytes(corpus.fill(scenario.config.decode("latin-1"),
                                             values).encode("latin-1"))
        files.credentials.write_text(corpus.fill(scenario.credentials, values))
        files.catalog.write_text(_catalog(scenario.catalog, mode))
        if scenario.sso_token:
            cache = home / ".aws" / "sso" / "cache"
            cache.mkdir(parents=True, exist_ok=True)
            expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 8 * 3600))
            name = hashlib.sha1(scenario.sso_token.encode()).hexdigest()
            (cache / f"{name}.json").write_text(json.dumps({
                "accessToken": "oracle-sso-access-token", "expiresAt": expires,
                "startUrl": "https://oracle.example/start", "region": "us-east-1"}))
        files.env = {
            "HOME": str(home), "AWS_CONFIG_FILE": str(files.config),
            "AWS_SHARED_CREDENTIALS_FILE": str(files.credentials),
            "ROLECALL_CONFIG": str(files.catalog), "ROLECALL_STATE_DIR": str(files.state),
            **{k: corpus.fill(v, values) for k, v in scenario.env.items()},
        }
        return files

    # -- the two sides --------------------------------------------------------------------

    def botocore(self, scenario: corpus.Scenario,
                 session: botocore.session.Session | None = None) -> Outcome:
        """``Session(profile=ROLE).get_credentials()``; or, given a session (one parse of
        a large file for many roles), its profile set to ROLE and a fresh resolver."""
        from botocore.credentials import create_credential_resolver

        self.proxy.take()
        try:
            if session is None:
                session = botocore.session.Session(profile=scenario.role)
            else:
                session.set_config_variable("profile", scenario.role)
            resolver = create_credential_resolver(session)
            resolver.get_provider("assume-role")._prompter = lambda _prompt: scenario.mfa
            creds = resolver.load_credentials()
            if creds is None:
                raise RuntimeError("no credentials")
            creds.get_frozen_credentials()
        except Exception as exc:  # noqa: BLE001 - any failure is botocore's answer
            return Outcome(False, calls_of(self.proxy.take()), f"{type(exc).__name__}: {exc}")
        return Outcome(True, calls_of(self.proxy.take()))

    def rolecall(self, scenario: corpus.Scenario, files: Files,
                 inv: inventory.Inventory | None = None, fresh: bool = True) -> Outcome:
        """``Engine.assume(ROLE)`` from nothing cached (an in-memory cache of its own);
        ``fresh=False`` keeps this thread's botocore session (one per inventory)."""
        self.proxy.take()
        if fresh:
            sts._local.__dict__.clear()
        try:
            if inv is None:
                inv = inventory.load(files.config, files.credentials, files.catalog)
            cache = SessionCache(state_dir=files.state, memory_only=True)
            engine = Engine(inv, cache, mfa_prompt=lambda serial, role: scenario.mfa or "")
            engine.assume(scenario.role)
        except RolecallError as exc:
            return Outcome(False, calls_of(self.proxy.take()), str(exc), exc.exit_code)
        finally:
            if fresh:
                sts._local.__dict__.clear()
        return Outcome(True, calls_of(self.proxy.take()))


def _catalog(text: str, mode: str) -> str:
    settings = f'session_name = "{TEMPLATE}"\nmfa_mode = "{mode}"\n'
    if "[settings]" in text:
        return text.replace("[settings]\n", "[settings]\n" + settings, 1)
    return f"[settings]\n{settings}\n{text}"


# Exit status rolecall must give when botocore fails this way before or at STS.
CONFIG_ERRORS = ("InvalidConfigError", "InfiniteLoopConfigError", "PartialCredentialsError",
                 "ParamValidationError", "ConfigParseError", "InvalidRegionError",
                 "ValueError", "ProfileNotFound", "InvalidSTSRegionalEndpointsConfigError",
                 "NoRegionError")


def compare(scenario: corpus.Scenario, b: Outcome, r: Outcome,
            expect: tuple[str, ...] | None = None) -> None:
    """Fail unless both sides agree once the scenario's intended differences are taken
    out; ``expect`` overrides the scenario's list (a mode that shows fewer)."""
    assert b.ok != scenario.fails, (  # a broken harness must not look like agreement
        f"{scenario.id}: botocore {'resolved' if b.ok else 'failed: ' + b.error}")
    for name in scenario.expect if expect is None else expect:
        difference = DIFFERENCES[name]
        assert difference.apply is not None, f"{name} cannot be expected of a scenario"
        b, r = difference.apply(b, r)
    b, r = _default_duration(b), _default_duration(r)
    for difference in DIFFERENCES.values():
        if difference.always and difference.apply is not None:
            b, r = difference.apply(b, r)
    where = f"{scenario.id} ({scenario.source})"
    assert (b.ok, r.ok) in ((True, True), (False, False)), (
        f"{where}: botocore {'resolved' if b.ok else 'failed: ' + b.error}, rolecall "
        f"{'resolved' if r.ok else 'failed: ' + r.error}\n botocore: {b.calls}\n rolecall: "
        f"{r.calls}")
    assert b.calls == r.calls, f"{where}: calls differ\n botocore: {b.calls}\n rolecall: {r.calls}"
    if not b.ok and b.error != "refused":
        wanted = 2 if b.error.split(":")[0] in CONFIG_ERRORS else 1
        assert r.exit_code == wanted, (
            f"{where}: botocore failed with {b.error}; rolecall exit {r.exit_code}: {r.error}")


def _default_duration(outcome: Outcome) -> Outcome:
    calls = [replace(c, duration=c.duration or "3600") if c.op == "AssumeRole" else c
             for c in outcome.calls]
    return replace(outcome, calls=calls)


def environment(files: Files) -> dict[str, str]:
    """The process environment for a scenario: ours without any AWS setting, plus its."""
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update(files.env)
    return env
