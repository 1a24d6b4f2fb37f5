"""``rolecall demo``: the board against a sandbox AWS on loopback.

A moto server on 127.0.0.1 is seeded through boto3, as an admin would seed a real
organisation; the AWS files, the catalog and the state dir live in a fresh temporary
directory, and sessions go to a keyring service of their own. Nothing outside that
directory and that service is touched, and both are gone when the demo ends.

The organisation (account ids come from Organizations, deterministic per moto version):

    operator (IAM user alice, identity) > ci (tools) > dev-deploy | staging-deploy | prod-deploy
    operator > mfa:alice > dev-admin | staging-admin | prod-admin   (MFA, any 6 digits;
                           staging-admin was never granted to alice: d explains it)
    analyst (IAM user analyst, identity) > audit (audit) > dev/staging/prod/tools-readonly
    analyst > vendor-audit (a third party's account, ExternalId required)
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shlex
import shutil
import signal
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from profiles.doors.terminal import shown
from profiles.errors import RolecallError, UsageError
from tui.board.hints import Hints
from tui.demo import store
from tui.demo.store import Store
from tui.demo.trail import Event, Trail

REGION = "us-east-1"
MANAGEMENT = "111122223333"  # the organisation's management account
VENDOR = "444455556666"  # a third party's account, outside the organisation
SEED = 20240601  # moto's random seed: the same account ids and keys on every run
EXTERNAL_ID = "rolecall-demo-7f3a9c"
MFA_CODE_HINT = "any 6 digits"
# alias -> (organizational unit, tags)
ACCOUNTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "identity": ("Security", ("identity",)),
    "audit": ("Security", ("security",)),
    "tools": ("Infrastructure", ()),
    "dev": ("Workloads", ("dev",)),
    "staging": ("Workloads", ("staging",)),
    "prod": ("Workloads", ("prod",)),
}
MEMBERS = ("dev", "staging", "prod", "tools")  # accounts with a read-only role for audit
ADMINS = ("dev", "staging", "prod")  # accounts with an MFA admin role for the operator
ENV_REMOVED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID",
               "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
               "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")


@dataclass
class DemoWorld:
    """Where the demo lives while it runs: files, endpoint, accounts and roles."""

    root: Path
    url: str
    service: str
    accounts: dict[str, str] = field(default_factory=dict)  # alias -> account id
    roles: dict[str, str] = field(default_factory=dict)  # role (profile) name -> role ARN
    chains: dict[str, tuple[str, ...]] = field(default_factory=dict)  # role -> base..role
    # (by source profile; an MFA role's plan also has an mfa: step after the base)
    mfa_serial: str = ""
    external_id: str = EXTERNAL_ID
    seed_seconds: float = 0.0
    store: Store = field(default_factory=lambda: Store("the keyring rolecall finds"))

    @property
    def config(self) -> Path:
        return self.root / "aws" / "config"

    @property
    def credentials(self) -> Path:
        return self.root / "aws" / "credentials"

    @property
    def catalog(self) -> Path:
        return self.root / "rolecall.toml"

    @property
    def state(self) -> Path:
        return self.root / "state"

    @property
    def env(self) -> dict[str, str]:
        return {
            "AWS_CONFIG_FILE": str(self.config),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.credentials),
            "ROLECALL_CONFIG": str(self.catalog),
            "ROLECALL_STATE_DIR": str(self.state),
            "ROLECALL_RUNTIME_DIR": str(self.root / "run"),  # the endpoint's files: ours
            "ROLECALL_KEYRING_SERVICE": self.service,
            "AWS_ENDPOINT_URL": self.url,
            "AWS_DEFAULT_REGION": REGION,
            # `b` and `console` sign in at the sandbox's own federation endpoint
            "ROLECALL_FEDERATION_URL": f"{self.url}/federation",
        }


# -- seeding ----------------------------------------------------------------------------


class _Admin:
    """boto3 clients acting as an admin of any account on the moto server (one private
    session, so neither the user's profiles nor boto3's default session are involved)."""

    def __init__(self, url: str) -> None:
        import boto3  # the demo's own admin clients: only when seeding

        self.url = url
        self.session = boto3.session.Session(aws_access_key_id="demo",
                                             aws_secret_access_key="demo", region_name=REGION)
        self._clients: dict[tuple[str, str], object] = {}

    def __call__(self, service: str, account: str):
        if (service, account) not in self._clients:
            client = self.session.client(service, endpoint_url=self.url)
            client.meta.events.register(
                "before-sign.*.*", lambda request, **_: request.headers.__setitem__(
                    "x-moto-account-id", account))
            self._clients[service, account] = client
        return self._clients[service, account]


def _policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _trust(principal: str, condition: dict | None = None) -> str:
    statement = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return _policy(statement)


def _allow_assume(*arns: str) -> str:
    return _policy({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": list(arns)})


def _moto_api(url: str, path: str) -> None:
    urllib.request.urlopen(urllib.request.Request(url + path, method="POST"), timeout=10).close()


def _organisation(admin: _Admin) -> dict[str, str]:
    """Create the organisation, its OUs and member accounts; return alias -> id."""
    org = admin("organizations", MANAGEMENT)
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    units = {name: org.create_organizational_unit(ParentId=root, Name=name)
             ["OrganizationalUnit"]["Id"] for name in dict.fromkeys(u for u, _ in
                                                                     ACCOUNTS.values())}
    accounts = {"management": MANAGEMENT}
    for alias, (unit, tags) in ACCOUNTS.items():
        status = org.create_account(AccountName=alias, Email=f"aws+{alias}@example.com",
                                    Tags=[{"Key": "env", "Value": t} for t in tags[:1]])
        account = status["CreateAccountStatus"]["AccountId"]
        org.move_account(AccountId=account, SourceParentId=root, DestinationParentId=units[unit])
        accounts[alias] = account
    accounts["vendor"] = VENDOR
    return accounts


def _role(admin: _Admin, account: str, name: str, trust: str, max_session: int = 3600,
          policy: str | None = None) -> str:
    iam = admin("iam", account)
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust,
                          MaxSessionDuration=max_session)["Role"]["Arn"]
    if policy:
        iam.put_role_policy(RoleName=name, PolicyName=f"{name}Policy", PolicyDocument=policy)
    return arn


def seed(world: DemoWorld) -> dict[str, tuple[str, str]]:
    """Seed the moto server behind ``world``; return base profile -> (key id, secret)."""
    admin = _Admin(world.url)
    world.accounts = acct = _organisation(admin)
    identity = acct["identity"]
    read_only = _policy({"Effect": "Allow", "Action": ["*:Describe*", "*:Get*", "*:List*",
                                                       "cloudtrail:LookupEvents"],
                         "Resource": "*"})
    full = _policy({"Effect": "Allow", "Action": "*", "Resource": "*"})

    iam = admin("iam", identity)
    users: dict[str, str] = {}
    keys: dict[str, tuple[str, str]] = {}
    for base, user in (("operator", "alice"), ("analyst", "analyst")):
        iam.create_user(UserName=user)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        users[user] = f"arn:aws:iam::{identity}:user/{user}"
        keys[base] = (key["AccessKeyId"], key["SecretAccessKey"])
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice")["VirtualMFADevice"][
        "SerialNumber"]
    iam.enable_mfa_device(UserName="alice", SerialNumber=serial,
                          AuthenticationCode1="123456", AuthenticationCode2="654321")
    world.mfa_serial = serial

    roles = world.roles
    roles["ci"] = _role(admin, acct["tools"], "CIPipelineRole", _trust(users["alice"]))
    for env in ("dev", "staging", "prod"):
        roles[f"{env}-deploy"] = _role(admin, acct[env], "DeployRole", _trust(roles["ci"]),
                                       policy=full)
    mfa = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    for env in ADMINS:
        roles[f"{env}-admin"] = _role(admin, acct[env], "AdminRole",
                                      _trust(f"arn:aws:iam::{identity}:root", mfa),
                                      max_session=4 * 3600, policy=full)
    roles["audit"] = _role(admin, acct["audit"], "SecurityAuditRole", _trust(users["analyst"]),
                           max_session=12 * 3600, policy=read_only)
    for env in MEMBERS:
        roles[f"{env}-readonly"] = _role(admin, acct[env], "ReadOnlyRole",
                                         _trust(roles["audit"]), policy=read_only)
    roles["vendor-audit"] = _role(
        admin, VENDOR, "VendorAuditRole", _trust(
            f"arn:aws:iam::{identity}:root", {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}),
        policy=read_only)

    # the caller's side: each identity may assume exactly the roles it is meant to, but
    # staging-admin is new and nobody granted it to alice (the doctor's example: STS would
    # deny it, and only the caller's side is missing; moto itself enforces neither)
    iam.put_user_policy(UserName="alice", PolicyName="AssumeOperatorRoles",
                        PolicyDocument=_allow_assume(roles["ci"], roles["dev-admin"],
                                                     roles["prod-admin"]))
    iam.put_user_policy(UserName="analyst", PolicyName="AssumeAuditRoles",
                        PolicyDocument=_allow_assume(roles["audit"], roles["vendor-audit"]))
    admin("iam", acct["tools"]).put_role_policy(
        RoleName="CIPipelineRole", PolicyName="AssumeDeployRoles",
        PolicyDocument=_allow_assume(*(roles[f"{e}-deploy"] for e in ("dev", "staging", "prod"))))
    admin("iam", acct["audit"]).put_role_policy(
        RoleName="SecurityAuditRole", PolicyName="AssumeMemberReadOnly",
        PolicyDocument=_allow_assume(*(roles[f"{e}-readonly"] for e in MEMBERS)))
    return keys


# -- files ------------------------------------------------------------------------------

SOURCES = {  # role -> (source, extra lines); the -readonly roles live in the catalog
    "ci": ("operator", ""),
    "dev-deploy": ("ci", ""),
    "staging-deploy": ("ci", ""),
    "prod-deploy": ("ci", "region = eu-west-1\n"),
    "dev-admin": ("operator", "mfa_serial = {mfa}\n"),
    "staging-admin": ("operator", "mfa_serial = {mfa}\n"),
    "prod-admin": ("operator", "mfa_serial = {mfa}\n"),
    "audit": ("analyst", ""),
    "vendor-audit": ("analyst", "external_id = {external_id}\n"),
}


def write_files(world: DemoWorld, keys: dict[str, tuple[str, str]]) -> None:
    """The AWS config and credentials files (0600) and the rolecall catalog."""
    world.config.parent.mkdir(mode=0o700)
    config = ["# rolecall demo: a sandbox organisation on a loopback moto server\n"]
    config += [f"[profile {base}]\nregion = {REGION}\n\n" for base in keys]
    for name, (source, extra) in SOURCES.items():
        config.append(f"[profile {name}]\nrole_arn = {world.roles[name]}\n"
                      f"source_profile = {source}\n"
                      + extra.format(mfa=world.mfa_serial, external_id=world.external_id)
                      + "\n")
    world.config.write_text("".join(config))
    credentials = "".join(f"[{base}]\naws_access_key_id = {key}\naws_secret_access_key = "
                          f"{secret}\n\n" for base, (key, secret) in keys.items())
    fd = os.open(world.credentials, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(credentials)

    catalog = ['[settings]\nrefresh_window = "5m"\nsession_name = "{user}-{unix}"\n'
               'mfa_mode = "session"\n']
    for alias, account in world.accounts.items():
        tags = ACCOUNTS[alias][1] if alias in ACCOUNTS else ("third-party",) * (alias == "vendor")
        reader = f'audit_role = "{alias}-readonly"\n' if alias in MEMBERS else ""
        catalog.append(f'\n[accounts."{account}"]\nalias = "{alias}"\n'
                       f"tags = {json.dumps(list(tags))}\n{reader}")
    for env in ADMINS:
        catalog.append(f'\n[roles.{env}-admin]\nmax_duration = "4h"\n')
    for env in MEMBERS:
        catalog.append(f'\n[roles.{env}-readonly]\nrole_arn = "{world.roles[f"{env}-readonly"]}"'
                       '\nsource = "audit"\n')
    world.catalog.write_text("".join(catalog))
    for name in world.roles:  # sources come before the roles they lead to
        source = SOURCES[name][0] if name in SOURCES else "audit"
        world.chains[name] = (*world.chains.get(source, (source,)), name)


# -- the context manager ----------------------------------------------------------------


@contextlib.contextmanager
def _environ(changes: dict[str, str], removed: tuple[str, ...]) -> Iterator[None]:
    saved = dict(os.environ)
    for name in removed:
        os.environ.pop(name, None)
    os.environ.update(changes)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _forget_sessions(world: DemoWorld) -> None:
    """Drop every demo session (and any orphaned secret) from the demo's keyring service."""
    from profiles.sessions.cache import SessionCache  # the keyring stack: only at the end

    cache = SessionCache(state_dir=world.state, service=world.service)
    try:
        keys = [s.key for s in cache.sessions()] + cache.orphans()
        if keys:
            cache.forget(keys)
    except (RolecallError, OSError) as exc:
        print(f"rolecall: demo: could not clear its keyring entries: {shown(exc)}",
              file=sys.stderr)


def _abandon(world: DemoWorld) -> None:
    """The last resort's cleanup (the board could not end by itself): the sandbox's
    keyring entries, what keeps them, then its files."""
    _forget_sessions(world)
    world.store.stop()
    shutil.rmtree(world.root, ignore_errors=True)


@contextlib.contextmanager
def demo_world() -> Iterator[DemoWorld]:
    """A seeded moto server, files in a temp dir and os.environ pointing at both.

    moto's state is process-wide, so the server is reset on entry and on exit.
    """
    from tui.demo.sandbox import Server  # moto: an optional extra (rolecall[demo])

    root = Path(tempfile.mkdtemp(prefix="rolecall-demo-"))
    world = DemoWorld(root=root, url="", service=f"rolecall-demo-{secrets.token_hex(4)}")
    server = None
    try:
        removed = ENV_REMOVED + tuple(k for k in os.environ if k.startswith("AWS_ENDPOINT_URL_"))
        with _environ(world.env, removed):  # seeding, too, must not see the user's profiles
            world.store = store.bring_own(root)  # before any thread: it may start daemons
            try:
                server = Server(root / "sandbox.log")  # its logs: never on the terminal
                world.url = server.url
                os.environ.update(world.env)
                started = time.perf_counter()
                _moto_api(world.url, "/moto-api/reset")
                _moto_api(world.url, f"/moto-api/seed?a={SEED}")
                write_files(world, seed(world))
                strangers(server.trail, world)
                world.seed_seconds = time.perf_counter() - started
                yield world
            finally:
                _forget_sessions(world)
                world.store.stop()
    finally:
        if server is not None:
            with contextlib.suppress(OSError):
                _moto_api(world.url, "/moto-api/reset")
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def command_shim(world: DemoWorld) -> Path:
    """``rolecall`` (this interpreter, this checkout) in the demo's own ``bin``, first on
    the demo's PATH: every command works in the board's subshell however the demo was
    started (``.venv/bin/rolecall demo`` without an activated venv, ``python -m tui``).
    The interpreter's own directory follows, so ``aws`` from the same venv is found."""
    bin_dir = world.root / "bin"
    bin_dir.mkdir(mode=0o700)
    shim = bin_dir / "rolecall"
    shim.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -m tui \"$@\"\n")
    shim.chmod(0o700)
    here = str(Path(sys.executable).parent)
    os.environ["PATH"] = os.pathsep.join([str(bin_dir), here, os.environ.get("PATH", "")])
    return shim


def strangers(trail: Trail, world: DemoWorld) -> None:
    """CloudTrail events of callers this machine never was, for ``audit --cloudtrail``
    and the board's audit page to highlight: a CI runner elsewhere deploying to dev, and
    someone outside the organisation refused on prod-admin."""
    now, tools = trail.clock(), world.accounts["tools"]
    for ago, role, session, caller, address, error in (
            (35 * 60, "dev-deploy", "build-4471",
             f"arn:aws:sts::{tools}:assumed-role/CIPipelineRole/build-4471", "192.0.2.44",
             None),
            (2 * 3600, "prod-admin", "mallory", f"arn:aws:iam::{VENDOR}:user/mallory",
             "203.0.113.9", "AccessDenied")):
        arn = world.roles[role]
        trail.add(Event(now - ago, arn.split(":")[4], REGION, arn, session, caller,
                        "ASIA" + "DEMO" * 4, address, error))


def hints(world: DemoWorld):
    """What the board says about the sandbox, inside the board (stderr is hidden)."""
    return Hints(
        banner="rolecall demo",
        welcome=(f"A sandbox AWS on 127.0.0.1: nothing of yours is touched. MFA codes: "
                 f"{MFA_CODE_HINT}. Try / prod-admin enter; s opens a shell where every "
                 "rolecall command works."),
        mfa=f"demo: {MFA_CODE_HINT} work",
        shell=("rolecall demo: every rolecall command works here (rolecall list, rolecall "
               "assume audit, rolecall console dev-deploy --print, rolecall audit "
               "--cloudtrail, aws sts get-caller-identity); exit to return to the board"))


def run_demo() -> int:
    """Open the board on the demo world; clean up however it ends (SIGTERM and SIGHUP too)."""
    try:
        import moto.server  # noqa: F401 - an optional extra: say how to get it
    except ImportError:
        raise UsageError("the demo needs moto", fix="pip install 'rolecall[demo]'") from None
    previous = {s: signal.signal(s, _exit_on_signal) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        with demo_world() as world:
            print(f"rolecall: demo sandbox at {shown(world.url)}, files in {shown(world.root)} "
                  f"(MFA codes: {MFA_CODE_HINT}); sessions in {shown(world.store.where)}",
                  file=sys.stderr)
            command_shim(world)
            from tui.board.app import run_app  # Textual, once the world is up

            status = run_app(hints=hints(world), cleanups=[lambda: _abandon(world)])
        with contextlib.suppress(OSError):  # the terminal may have gone: it ended the board
            print(f"rolecall: demo over; its sandbox, files and sessions are gone "
                  f"(MFA codes were: {MFA_CODE_HINT})", file=sys.stderr)
        return status
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
