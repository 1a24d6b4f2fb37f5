"""Long-lived IAM user keys in the keyring: added from stdin or a
terminal without echo (never argv), listed without secrets, used as a base identity by
the AWS CLI (``credential_process``) and by catalog roles (``keys = NAME``), removed,
and rotated against moto's IAM with a failure injected at every step: the user always
keeps a working, stored key."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from profiles.errors import KeyringError, RolecallError, UsageError
from profiles.estate import keys, rotation
from profiles.estate.keys import KeyStore, LongLived
from profiles.sessions.cache import SessionCache
from profiles.workspace import Workspace
from tests.helpers import StsCalls, assert_fails, environ, ok_json, run_detached
from tests.test_cli_tty import Terminal

AWS = str(Path(sys.executable).with_name("aws"))
ACCOUNT = "000000000000"


def iam_user(world, account: str = ACCOUNT) -> tuple[str, LongLived]:
    user = f"ops-{uuid.uuid4().hex[:6]}"
    key, secret = world.moto.create_user_keys(account, user)
    return user, LongLived(key, secret)


def iam_keys(world, user: str, account: str = ACCOUNT) -> list[str]:
    listed = world.moto.client("iam", account).list_access_keys(UserName=user)
    return sorted(k["AccessKeyId"] for k in listed["AccessKeyMetadata"])


def added(world, name: str = "ops") -> tuple[str, LongLived]:
    user, pair = iam_user(world)
    keys.add(KeyStore(), name, pair)
    return user, pair


# -- add, list, process, rm through the CLI ----------------------------------------------


def test_keys_from_stdin_are_stored_in_the_keyring_and_listed_without_secrets(world):
    user, pair = iam_user(world)
    created = json.dumps({"AccessKey": {"UserName": user, "AccessKeyId": pair.access_key_id,
                                        "SecretAccessKey": pair.secret_access_key}})
    done = world.run("keys", "add", "ops", "--stdin", input=created)
    assert done.returncode == 0, done.stderr
    masked = keys.mask(pair.access_key_id)
    assert done.stdout == f"added ops: {masked} (arn:aws:iam::{ACCOUNT}:user/{user})\n"
    listed = world.run("keys", "list")
    assert listed.stdout.splitlines()[1].split() == ["ops", masked, "0h", f"arn:aws:iam::"
                                                     f"{ACCOUNT}:user/{user}"]
    (entry,) = ok_json(world.run("keys", "list", "--json"))
    assert entry["access_key_id"] == masked and entry["created_at"] and entry["age_seconds"] >= 0
    everything = done.stdout + done.stderr + listed.stdout + json.dumps(entry) + \
        (world.state / keys.INDEX).read_text()
    assert pair.secret_access_key not in everything
    assert pair.access_key_id not in everything
    assert (world.state / keys.INDEX).stat().st_mode & 0o777 == 0o600
    assert KeyStore().get("ops") == pair  # in the keyring, under rolecall's own item


def test_the_aws_cli_signs_with_keys_process(world):
    user, _ = added(world)
    world.write_config(f"[profile kp]\ncredential_process = {sys.executable} -m tui keys "
                       "process ops\n")
    out = subprocess.run([AWS, "sts", "get-caller-identity", "--profile", "kp", "--output",
                          "json"], capture_output=True, text=True, env=environ(world),
                         timeout=60, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/{user}"
    printed = ok_json(world.run("keys", "process", "ops"))
    assert sorted(printed) == ["AccessKeyId", "SecretAccessKey", "Version"]  # long-lived


@pytest.mark.secret_service
def test_keys_process_reads_the_keyring_straight_and_the_full_path_agrees(world):
    _, pair = added(world)
    probe = ("import sys, io, contextlib\nfrom tui.cli import main\nout = io.StringIO()\n"
             "with contextlib.redirect_stdout(out):\n    code = main(sys.argv[1:])\n"
             "print(code, out.getvalue().strip(), sep='\\n')\n"
             "print(sorted({m for m in sys.modules} & "
             "{'botocore', 'keyring', 'argparse', 'tui.cli.parser', 'profiles.estate'}))")

    def run(*args: str, **env: str) -> tuple[int, dict, str]:
        done = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True,
                              text=True, env=environ(world, **env), timeout=60)
        code, out, modules = done.stdout.strip().split("\n")
        return int(code), json.loads(out) if out.startswith("{") else out, modules

    expected = {"Version": 1, "AccessKeyId": pair.access_key_id,
                "SecretAccessKey": pair.secret_access_key}
    assert run("keys", "process", "ops") == (0, expected, "[]")  # no parser, no keyring pkg
    code, full, modules = run("keys", "process", "ops",
                              PYTHON_KEYRING_BACKEND="keyring.backends.SecretService.Keyring")
    assert (code, full) == (0, expected) and "keyring" in modules  # the full path's answer
    assert run("keys", "process", "nope")[0] == 2  # a miss: the full path says why


def test_a_catalog_role_is_assumed_from_keys_in_the_keyring(world):
    user, pair = added(world)
    arn = world.moto.create_role("111111111111", "FromKeys")
    world.write_config("")
    world.catalog.write_text(f'[roles.k]\nrole_arn = "{arn}"\nkeys = "ops"\n')
    with StsCalls().active() as calls:
        result = Workspace(cache=SessionCache()).assume("k")
    assert len(calls) == 1 and result.session.arn.startswith(
        "arn:aws:sts::111111111111:assumed-role/FromKeys/")
    assert Workspace(cache=SessionCache()).engine.plan("k").labels == ("keys:ops", "k")


def test_keys_add_refuses_what_it_must(world):
    added(world)
    kept = KeyStore().get("ops")
    _, other = iam_user(world)
    pipe = f"{other.access_key_id}\n{other.secret_access_key}\n"
    assert_fails(world.run("keys", "add", "ops", "--stdin", input=pipe), 2, "exist already",
                 "rotate them")
    assert KeyStore().get("ops") == kept  # nothing overwritten
    assert_fails(world.run("keys", "add", "new", "--stdin", input="ASIAXXXXXXXXXXXXXXXX\n"
                           + "s" * 40), 2, "temporary one")
    assert_fails(run_detached(world, "keys", "add", "new"), 2, "no terminal", "--stdin")
    assert_fails(run_detached(world, "keys", "add", "ops"), 2, "exist already")  # not asked
    assert_fails(world.run("keys", "add", "new", other.access_key_id), 2, "unexpected argument")
    assert_fails(world.run("keys", "add", "a b", "--stdin", input=pipe), 2, "invalid keys name")
    assert "new" not in KeyStore().entries()


@pytest.mark.parametrize("text", [
    "Access key ID,Secret access key\nAKIAABCDEFGHIJKLMNOP,{s}\n",  # the console's CSV
    '{{"AccessKeyId": "AKIAABCDEFGHIJKLMNOP", "SecretAccessKey": "{s}"}}',
    "  AKIAABCDEFGHIJKLMNOP  \n\n{s}\n",
])
def test_the_shapes_people_paste_are_read(text):
    secret = "abcdEFGH1234/+ijklmnopQRSTUVWXyz56789012"
    assert keys.parse(text.format(s=secret)) == LongLived("AKIAABCDEFGHIJKLMNOP", secret)


@pytest.mark.parametrize("text", ["", "AKIAABCDEFGHIJKLMNOP", "{bad json", '{"x": 1}',
                                  "AKIAABCDEFGHIJKLMNOP\nshort", "one\ntwo\nthree"])
def test_anything_else_on_stdin_is_refused_without_echoing_it(text):
    with pytest.raises(UsageError) as caught:
        keys.parse(text)
    assert all(part not in str(caught.value) for part in text.split() if len(part) > 8)


def test_keys_add_on_a_terminal_reads_both_without_echo(world):
    user, pair = iam_user(world)
    term = Terminal(world, "keys", "add", "tty")
    term.expect(b"Access key ID for tty: ")
    assert not term.echo_on()
    term.type(pair.access_key_id.encode() + b"\n")
    term.expect(b"Secret access key for tty: ")
    assert not term.echo_on()
    term.type(pair.secret_access_key.encode() + b"\n")
    status, stdout = term.finish()
    assert status == 0, term.screen
    assert stdout.startswith("added tty: ")
    assert pair.secret_access_key.encode() not in term.screen
    assert pair.access_key_id.encode() not in term.screen
    assert KeyStore().get("tty") == pair


def test_keys_rm_asks_or_takes_yes_and_forget_all_never_touches_keys(world):
    added(world)
    assert world.run("forget", "--all").returncode == 0
    assert KeyStore().exists("ops")  # a session sweep never deletes long-lived keys
    assert_fails(run_detached(world, "keys", "rm", "ops"), 2, "not removed", "--yes")
    assert KeyStore().exists("ops")
    done = world.run("keys", "rm", "ops", "--yes")
    assert done.returncode == 0 and "still active in IAM" in done.stdout
    assert not KeyStore().exists("ops") and KeyStore().entries() == {}
    assert_fails(world.run("keys", "process", "ops"), 2, "no keys named 'ops'",
                 "rolecall keys add ops")


def test_an_old_key_is_flagged_for_rotation(world, capsys):
    from tui.cli import main

    added(world)
    store = KeyStore()
    old = (datetime.now(UTC) - timedelta(days=120)).strftime("%Y-%m-%dT%H:%M:%SZ")
    store._update(lambda index: index["ops"].update(created_at=old))
    assert main(["keys", "list"]) == 0
    assert "120d (rotate)" in capsys.readouterr().out


@pytest.mark.secret_service
def test_without_a_secure_keyring_keys_are_never_stored(world, monkeypatch):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    store = KeyStore()
    store.secrets._backend, store.secrets._resolved = None, True  # what select_backend finds
    with pytest.raises(KeyringError, match="never kept in memory"):
        keys.add(store, "ops", iam_user(world)[1])
    no_bus = {"DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent/bus",
              "XDG_CONFIG_HOME": str(world.home / "no-keyringrc")}
    # the kernel keyring would forget them at logout: refused too, before a secret is
    # asked for ("no terminal"), with the Secret Service's fix
    err = assert_fails(run_detached(world, "keys", "add", "ops", env=no_bus), 1,
                       "long-lived keys need a keyring that outlasts the login")
    assert "fix: log in again, or unset DBUS_SESSION_BUS_ADDRESS" in err


# -- rotate, with a failure at every step ------------------------------------------------


class Faults:
    """Failures injected into the real (moto) clients through botocore's own events:
    ``plan[(operation, "old"|"new")]`` is how many calls of it, signed by that key, fail
    with ``code``; every call is counted."""

    def __init__(self, old: LongLived) -> None:
        self.old = old
        self.plan: dict[tuple[str, str], tuple[int, str]] = {}
        self.calls: list[tuple[str, str]] = []
        self.sleeps: list[float] = []

    def make(self, service: str, pair: LongLived):
        made = keys.client(service, pair)
        who = "old" if pair.access_key_id == self.old.access_key_id else "new"

        def before(model, **_):
            self.calls.append((model.name, who))
            count, code = self.plan.get((model.name, who), (0, ""))
            if count:
                self.plan[(model.name, who)] = (count - 1, code)
                raise ClientError({"Error": {"Code": code, "Message": f"injected {code}"}},
                                  model.name)

        made.meta.events.register(f"before-call.{made.meta.service_model.endpoint_prefix}",
                                  before)
        return made

    def rotate(self, store: KeyStore, name: str = "ops") -> rotation.Rotation:
        return rotation.rotate(store, name, make=self.make, sleep=self.sleeps.append)


def test_rotate_replaces_the_key_and_deletes_the_old_one(world):
    user, old = added(world)
    done = world.run("keys", "rotate", "ops")
    assert done.returncode == 0, done.stderr
    new = KeyStore().get("ops")
    assert new != old and iam_keys(world, user) == [new.access_key_id]
    assert done.stdout.startswith(f"rotated ops: {keys.mask(old.access_key_id)} -> "
                                  f"{keys.mask(new.access_key_id)}")
    assert new.secret_access_key not in done.stdout + done.stderr
    entry = KeyStore().entries()["ops"]
    assert entry["key_id"] == keys.mask(new.access_key_id) and entry["rotated_at"]


def test_a_new_key_is_waited_for_while_iam_catches_up(world):
    user, old = added(world)
    faults = Faults(old)
    faults.plan[("GetCallerIdentity", "new")] = (2, "InvalidClientTokenId")
    faults.plan[("DeleteAccessKey", "new")] = (1, "InvalidClientTokenId")
    faults.rotate(KeyStore())
    new = KeyStore().get("ops")
    assert iam_keys(world, user) == [new.access_key_id]
    assert faults.sleeps == [1.0, 2.0, 1.0]  # bounded back-off, no real sleep


def test_two_keys_already_changes_nothing_and_names_the_other(world):
    user, old = added(world)
    other = world.moto.client("iam", ACCOUNT).create_access_key(UserName=user)["AccessKey"]
    with pytest.raises(RolecallError, match="two access keys already") as caught:
        Faults(old).rotate(KeyStore())
    assert other["AccessKeyId"] in caught.value.fix
    assert KeyStore().get("ops") == old
    assert iam_keys(world, user) == sorted([old.access_key_id, other["AccessKeyId"]])


def test_a_new_key_that_never_works_is_deleted_and_the_old_one_kept(world):
    user, old = added(world)
    faults = Faults(old)
    faults.plan[("GetCallerIdentity", "new")] = (99, "InvalidClientTokenId")
    with pytest.raises(RolecallError, match="kept the old key .*the new key was deleted"):
        faults.rotate(KeyStore())
    assert faults.sleeps == list(rotation.BACKOFF)  # 5 tries over 15 s, then it gives up
    assert KeyStore().get("ops") == old and iam_keys(world, user) == [old.access_key_id]


def test_a_keyring_failure_deletes_the_new_key(world):
    user, old = added(world)

    class Refusing(KeyStore):
        def store_secret(self, name, pair):
            raise KeyringError("the keyring is locked")

    with pytest.raises(KeyringError, match="locked; kept the old key"):
        Faults(old).rotate(Refusing())
    assert KeyStore().get("ops") == old and iam_keys(world, user) == [old.access_key_id]


def test_a_keyring_that_stored_the_key_but_lost_its_reply_is_read_back(world):
    """The D-Bus reply is lost after the keyring stored the new key: the rotation goes on
    (the old key deleted, the new one stored and working), and says what happened."""
    user, old = added(world)

    class LostReply(KeyStore):
        def store_secret(self, name, pair):
            super().store_secret(name, pair)
            raise KeyringError("no reply from the Secret Service")

    done = Faults(old).rotate(LostReply())
    new = KeyStore().get("ops")
    assert new != old and iam_keys(world, user) == [new.access_key_id]
    assert keys.identify(new, "the new key").arn.endswith(f":user/{user}")  # it works
    assert done.new == keys.mask(new.access_key_id)
    assert any("no reply" in note and "holds the new key" in note for note in done.notes)


def test_a_keyring_that_cannot_be_read_back_keeps_both_keys(world):
    user, old = added(world)

    class Mute(KeyStore):
        gone = False

        def store_secret(self, name, pair):
            self.gone = True  # the bus dropped: from now on nothing answers
            raise KeyringError("no reply from the Secret Service")

        def get(self, name):
            if self.gone:
                raise KeyringError("the Secret Service does not answer")
            return super().get(name)

    with pytest.raises(KeyringError, match="cannot be read back.*both stay active.*nothing "
                       "was deleted") as caught:
        Faults(old).rotate(Mute())
    assert len(iam_keys(world, user)) == 2 and KeyStore().get("ops") == old
    assert "rotate ops` again" in caught.value.fix


def test_a_keyring_that_lost_the_old_key_gets_it_back(world):
    user, old = added(world)

    class Dropping(KeyStore):
        first = True

        def store_secret(self, name, pair):
            if self.first:  # it dropped the item, and stored nothing
                self.first = False
                self.secrets.delete([name])
                raise KeyringError("the keyring is locked")
            super().store_secret(name, pair)

    with pytest.raises(KeyringError, match="locked; kept the old key"):
        Faults(old).rotate(Dropping())
    assert KeyStore().get("ops") == old and iam_keys(world, user) == [old.access_key_id]


def test_an_old_key_that_cannot_be_deleted_leaves_the_new_one_stored(world):
    user, old = added(world)
    faults = Faults(old)
    faults.plan[("DeleteAccessKey", "new")] = (99, "AccessDenied")
    with pytest.raises(RolecallError, match="stored and working.*still active") as caught:
        faults.rotate(KeyStore())
    assert f"--access-key-id {old.access_key_id}" in caught.value.fix
    new = KeyStore().get("ops")
    assert new != old and iam_keys(world, user) == sorted([old.access_key_id,
                                                          new.access_key_id])
    assert keys.identify(new, "the new key").arn.endswith(f":user/{user}")  # it works


def test_when_even_the_undo_fails_the_new_key_is_named(world):
    user, old = added(world)
    faults = Faults(old)
    faults.plan[("GetCallerIdentity", "new")] = (99, "InvalidClientTokenId")
    faults.plan[("DeleteAccessKey", "old")] = (1, "Throttling")
    with pytest.raises(RolecallError, match="could not be deleted") as caught:
        faults.rotate(KeyStore())
    (extra,) = set(iam_keys(world, user)) - {old.access_key_id}
    assert extra in caught.value.message and extra in caught.value.fix
    assert KeyStore().get("ops") == old


def test_one_rotation_at_a_time(world):
    _, old = added(world)
    store = KeyStore()
    with store.lock("ops"), pytest.raises(RolecallError, match="another .* is running"):
        Faults(old).rotate(store)
    assert store.get("ops") == old
