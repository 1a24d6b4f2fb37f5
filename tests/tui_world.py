"""A small organisation for the TUI tests: five accounts, a chain, an MFA role, and
sessions seeded with fixed expiries so countdowns and snapshots are deterministic."""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime, timedelta

from profiles.model import Credentials, Session
from profiles.sessions.cache import SessionCache
from profiles.workspace import Workspace
from tests.conftest import World

T0 = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC).timestamp()
MFA = "arn:aws:iam::000000000000:mfa/operator"
ACCOUNTS = {"dev": "111111111111", "prod": "222222222222", "audit": "333333333333",
            "member": "444444444444"}

CATALOG = """\
[settings]
refresh_window = "5m"

[accounts."111111111111"]
alias = "dev"
tags = ["dev"]

[accounts."222222222222"]
alias = "prod"
tags = ["prod"]

[accounts."333333333333"]
alias = "audit"

[accounts."444444444444"]
alias = "member"
tags = ["pci"]
"""


class Clock:
    """An injectable clock: call it for now; set or advance it by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def organisation(world: World) -> dict[str, str]:
    """Roles in moto and the AWS config; returns role name -> ARN."""
    arns = {
        "dev-deploy": world.moto.create_role(ACCOUNTS["dev"], "DevDeploy", max_session=7200),
        "prod-deploy": world.moto.create_role(ACCOUNTS["prod"], "ProdDeploy"),
        "prod-admin": world.moto.create_role(ACCOUNTS["prod"], "Admin", max_session=4 * 3600),
        "audit": world.moto.create_role(ACCOUNTS["audit"], "AuditAnalyst"),
        "member-ro": world.moto.create_role(ACCOUNTS["member"], "MemberReadOnly"),
    }
    world.moto.create_role(ACCOUNTS["member"], "BreakGlass")
    world.write_config(
        "[profile base]\nregion = us-east-1\n\n"
        f"[profile dev-deploy]\nrole_arn = {arns['dev-deploy']}\nsource_profile = base\n\n"
        f"[profile prod-deploy]\nrole_arn = {arns['prod-deploy']}\nsource_profile = base\n\n"
        f"[profile prod-admin]\nrole_arn = {arns['prod-admin']}\nsource_profile = base\n"
        f"mfa_serial = {MFA}\n\n"
        f"[profile audit]\nrole_arn = {arns['audit']}\nsource_profile = base\n\n"
        f"[profile member-ro]\nrole_arn = {arns['member-ro']}\nsource_profile = audit\n")
    world.catalog.write_text(CATALOG)
    if not world.credentials.exists() or "[base]" not in world.credentials.read_text():
        world.base_profile()
    return arns


def seed(ws: Workspace, name: str, expires: float, session_name: str = "operator",
         issued: float = T0 - 1800) -> Session:
    """Put a session (and its parents) for ``name`` into the cache with a fixed expiry,
    as if assumed earlier; parents get an hour more. Fake secrets: display only."""
    plan = ws.engine.plan(name)
    parent: Session | None = None
    for index, step in enumerate(plan.steps):
        last = index == len(plan.steps) - 1
        ends = expires if last else expires + 3600
        creds = Credentials("ASIA" + secrets.token_hex(8).upper(), secrets.token_hex(20),
                            "TOKEN" + secrets.token_hex(16),
                            datetime.fromtimestamp(ends, UTC))
        if step.kind == "mfa":
            arn, role_arn, sname = step.serial or "", "", ""
        else:
            assert step.role is not None
            account = step.role.account_id
            arn = (f"arn:aws:sts::{account}:assumed-role/{step.role.role_short_name}/"
                   f"{session_name}")
            role_arn, sname = step.role.role_arn, session_name
        session = Session(key=step.key, role=step.label, kind=step.kind, arn=arn,
                          expires_at=datetime.fromtimestamp(ends, UTC),
                          issued_at=datetime.fromtimestamp(issued, UTC), session_name=sname,
                          role_arn=role_arn, parent=parent.key if parent else None,
                          region="us-east-1", credentials=creds)
        if last or ws.cache.get(step.key) is None:
            ws.cache.put(session, ws.engine.stamp, ws.refresh_window)
        parent = session
    assert parent is not None
    return parent


def chained_by_hand(ws: Workspace, source: str = "audit", label: str = "audit>BreakGlass",
                    role: str = "BreakGlass", ends: float = T0 + 45 * 60) -> Session:
    """A session chained by hand from ``source`` (as the `c` key leaves it) to ``role``
    in the member account. Fake secrets: display only."""
    parent = ws.cache.get(ws.engine.plan(source).steps[-1].key)
    assert parent is not None
    expires = datetime.fromtimestamp(ends, UTC)
    session = Session(
        key=f"adhoc-{secrets.token_hex(4)}", role=label, kind="role",
        arn=f"arn:aws:sts::444444444444:assumed-role/{role}/operator", expires_at=expires,
        issued_at=datetime.fromtimestamp(T0 - 900, UTC), session_name="operator",
        role_arn=f"arn:aws:iam::444444444444:role/{role}", parent=parent.key,
        region="us-east-1", credentials=Credentials("ASIAX", "s", "t", expires))
    ws.cache.put(session, ws.engine.stamp, ws.refresh_window)
    return session


def workspace(clock: Clock) -> Workspace:
    return Workspace(clock=clock, cache=SessionCache())


def seeded(world: World, clock: Clock) -> Workspace:
    """The organisation with live sessions at 10:00, 3:20 (warning), expired, and 2h."""
    organisation(world)
    ws = workspace(clock)
    seed(ws, "prod-deploy", T0 + 600)
    seed(ws, "dev-deploy", T0 + 200)
    seed(ws, "audit", T0 + 2 * 3600 + 5)
    seed(ws, "member-ro", T0 - 30)
    return ws


def expiry_in(seconds: float) -> float:
    return T0 + seconds


async def settle(app, pilot, rounds: int = 4) -> None:
    """Let workers finish and their results land (a job ends with a reload)."""
    for _ in range(rounds):
        await app.workers.wait_for_complete()
        await pilot.pause()
    await asyncio.sleep(0)


async def until(pilot, condition, timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.05)


def later(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


# -- a hand-made STS --------------------------------------------------------------------


def assume_role_xml(form: dict[str, str], key: str = "ASIAFAKE") -> bytes:
    """STS's AssumeRole answer for a parsed request ``form``: an hour, fake secrets."""
    from datetime import UTC, datetime, timedelta

    expires = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    arn = form["RoleArn"]
    assumed = (f"arn:aws:sts::{arn.split(':')[4]}:assumed-role/{arn.rsplit('/', 1)[1]}/"
               f"{form['RoleSessionName']}")
    return ('<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            f"<AssumeRoleResult><Credentials><AccessKeyId>{key}</AccessKeyId>"
            "<SecretAccessKey>fakesecret</SecretAccessKey><SessionToken>faketoken"
            f"</SessionToken><Expiration>{expires}</Expiration></Credentials>"
            f"<AssumedRoleUser><AssumedRoleId>AROA:x</AssumedRoleId><Arn>{assumed}</Arn>"
            "</AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>").encode()


# -- reading the board -----------------------------------------------------------------


def line_texts(app) -> list[str]:
    """The board's lines as plain text (header first)."""
    board = app.board_screen.board
    assert board is not None
    return ["".join(s.text for s in board.render_line(y)) for y in range(board.size.height)]


def row_text(app, name: str) -> str:
    """The line of role ``name`` (found by its ROLE cell, which may be shortened)."""
    board = app.board_screen.board
    column = board.columns(board.scrollable_content_region.width)[0]
    role = board.shown(board.rows[name], column)
    return next(t for t in line_texts(app) if t[2:2 + len(role)] == role)


def cell(app, name: str, column: str):
    board = app.board_screen.board
    assert board is not None
    return board._cell(board.rows[name], column)


def flat(text: str) -> str:
    """``text`` without whitespace: an ARN wrapped over lines reads as one again."""
    return "".join(text.split())


def texts(screen) -> str:
    """Every Static (labels, notes, errors) of a screen as plain text, one per line."""
    from textual.widgets import Static

    return "\n".join(str(widget.render()) for widget in screen.query(Static))


def notes(app) -> list:
    """Every notification the app has shown (message, title, severity)."""
    return list(app._notifications)


# -- a real terminal -------------------------------------------------------------------


def wait_for(condition, timeout: float = 20.0, show=None) -> None:
    """Poll ``condition`` (a process outside the test's event loop) until it holds."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out" + (f":\n{show()}" if show else ""))
        time.sleep(0.1)


class Tmux:
    """A private tmux server running one command in a window of a fixed size."""

    def __init__(self, name: str, command: str, size: tuple[int, int], env: dict,
                 cwd) -> None:
        import os
        import subprocess

        self.sock = f"/tmp/rolecall-{name}-{os.getpid()}.sock"  # unix paths are short
        self.tmux = ["tmux", "-S", self.sock]  # a private server, so it has our env
        env = {**env, "TERM": "xterm-256color"}
        env.pop("TMUX", None)
        subprocess.run([*self.tmux, "new-session", "-d", "-s", name, "-x", str(size[0]),
                        "-y", str(size[1]), command], env=env, check=True, cwd=cwd)
        self.name = name

    def screen(self) -> str:
        import subprocess

        done = subprocess.run([*self.tmux, "capture-pane", "-p", "-t", self.name],
                              capture_output=True, text=True)
        return done.stdout + done.stderr

    def keys(self, *names: str) -> None:
        import subprocess

        subprocess.run([*self.tmux, "send-keys", "-t", self.name, *names], check=True)

    def wait(self, text: str | None = None, condition=None, timeout: float = 20.0) -> None:
        wait_for(condition or (lambda: text in self.screen()), timeout, self.screen)

    def close(self) -> None:
        import contextlib
        import os
        import subprocess

        subprocess.run([*self.tmux, "kill-server"], capture_output=True)
        with contextlib.suppress(OSError):
            os.unlink(self.sock)
