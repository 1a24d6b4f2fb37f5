"""Long-lived IAM user keys kept in the OS keyring instead of ``~/.aws/credentials``.

Each set of keys has a name. Its secret half (access key id and secret access key) is a
keyring item under the service ``<keyring service>:keys``, marked as rolecall's like
every session item, but apart from them: ``forget --all`` and orphan sweeps never touch
it. What ``keys list`` shows is a non-secret index in the state dir (``keys.json``,
0600): the key id masked to its first and last four characters, the IAM user, when the
key was created and added. A secure keyring is required: long-lived keys are never kept
in memory for a run or written to a file.

They serve as a base identity: ``credential_process = rolecall keys process NAME`` in
an AWS profile (any SDK), or ``keys = NAME`` on a catalog role (rolecall reads them in
process). Rotation is :mod:`profiles.estate.rotation`.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from profiles import paths
from profiles.doors import statefiles
from profiles.errors import FileWriteError, KeyringError, RolecallError, UsageError
from profiles.model import parse_iso
from profiles.sessions.fastpath import KERNEL, SECRET_SERVICE

NO_FIX = "start a Secret Service"

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+=-]{0,63}", re.ASCII)
KEY_ID = re.compile(r"AKIA[A-Z0-9]{12,124}", re.ASCII)  # an IAM user's long-lived key
SECRET = re.compile(r"[A-Za-z0-9/+=]{16,128}", re.ASCII)
INDEX = "keys.json"


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise UsageError(f"invalid keys name {ascii(name)}",
                         fix="use 1 to 64 letters, digits and _ . @ + = - (a letter or "
                         "digit first)")
    return name


def mask(key_id: str) -> str:
    """``AKIA...WXYZ``: enough to tell keys apart, as IAM's console does."""
    return f"{key_id[:4]}...{key_id[-4:]}"


@dataclass(frozen=True)
class LongLived:
    """An access key pair (the secret never in a repr)."""

    access_key_id: str
    secret_access_key: str = field(repr=False)

    def process_json(self) -> dict[str, object]:
        """``credential_process`` output for long-lived keys: no token, no expiry."""
        return {"Version": 1, "AccessKeyId": self.access_key_id,
                "SecretAccessKey": self.secret_access_key}


def check_pair(key_id: str, secret: str) -> LongLived:
    """A pair that can be an IAM user's long-lived keys (never shown back: a secret typed
    into the key id's prompt must not reach the screen)."""
    key_id, secret = key_id.strip(), secret.strip()
    if key_id.startswith("ASIA"):
        raise UsageError("that access key id is a temporary one (ASIA...): it needs a "
                         "session token and expires", fix="add an IAM user's access key "
                         "(AKIA...); use `rolecall assume` for sessions")
    if not KEY_ID.fullmatch(key_id):
        raise UsageError("that is not an IAM user's access key id (AKIA and 16 or more "
                         "capitals and digits)", fix="copy the Access key ID from IAM")
    if not SECRET.fullmatch(secret):
        raise UsageError("that is not a secret access key (40 characters of letters, digits, "
                         "/ and +)", fix="copy the Secret access key from IAM")
    return LongLived(key_id, secret)


def parse(text: str) -> LongLived:
    """Keys from what a person pipes in: ``aws iam create-access-key`` JSON, a
    credential_process JSON, the console's CSV download (header line, then the key id and
    secret), or the key id and secret on two lines."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except ValueError:
            raise UsageError("the keys on stdin are not valid JSON",
                             fix="pipe `aws iam create-access-key` output as it is") from None
        data = data.get("AccessKey", data) if isinstance(data, dict) else None
        if not isinstance(data, dict) or not all(
                isinstance(data.get(k), str) for k in ("AccessKeyId", "SecretAccessKey")):
            raise UsageError("the JSON on stdin has no AccessKeyId and SecretAccessKey",
                             fix="pipe `aws iam create-access-key` output as it is")
        return check_pair(data["AccessKeyId"], data["SecretAccessKey"])
    lines = [line.strip() for line in stripped.splitlines() if line.strip()]
    if lines and "access key id" in lines[0].lower():  # the console's .csv
        lines = lines[1:]
        if len(lines) == 1 and "," in lines[0]:
            cells = [c.strip().strip('"') for c in lines[0].split(",")]
            lines = cells[:2]
    if len(lines) != 2:
        raise UsageError("expected the access key id and the secret access key on two lines",
                         fix="or pipe `aws iam create-access-key` JSON, or the console's CSV")
    return check_pair(lines[0], lines[1])


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class KeyStore:
    """Named long-lived keys: secrets in the keyring, facts in the index."""

    def __init__(self, state_dir: Path | None = None, service: str | None = None,
                 backend: object | None = None) -> None:
        # lazy: the keyring stack only when a store is made (completion reads the index)
        from profiles.sessions.keyring_store import KeyringStore

        self.state_dir = state_dir or paths.state_dir()
        self.service = f"{service or paths.keyring_service()}:keys"
        self.secrets = KeyringStore(self.service, backend)

    @property
    def index_path(self) -> Path:
        return self.state_dir / INDEX

    def _secure(self) -> None:
        """Refuse unless the keyring keeps keys for good: never memory, a file, or the
        kernel keyring (it forgets them when the login ends; the keys would be lost)."""
        if self.secrets.backend is None:
            from profiles.sessions.keyring_store import NO_KEYRING_FIX  # lazy: as above

            raise KeyringError("no secure keyring: long-lived keys are never kept in memory "
                               "or in a file", fix=NO_KEYRING_FIX)
        if self.secrets.backend_name == KERNEL:
            from profiles.sessions.backends import secret_service_missing  # lazy: as above

            why, fix = secret_service_missing() or ("a Secret Service is missing", NO_FIX)
            raise KeyringError("long-lived keys need a keyring that outlasts the login; the "
                               f"kernel keyring, used since {why}, forgets them", fix=fix)

    # -- the index ------------------------------------------------------------------------

    def entries(self) -> dict[str, dict]:
        """The index: name -> non-secret facts (a missing or broken one reads empty)."""
        data = statefiles.read_json(self.index_path)  # a fifo there: refused, never waited on
        keys = data.get("keys") if isinstance(data, dict) else None
        return {n: e for n, e in keys.items() if isinstance(e, dict) and NAME.fullmatch(n)} \
            if isinstance(keys, dict) else {}

    def lock(self, name: str = ""):
        """The index's lock, or (``name``) the lock one rotation of ``name`` holds."""
        # lazy: filelock only when the index is written or a rotation runs
        from filelock import FileLock

        paths.ensure_private_dir(self.state_dir)
        return FileLock(str(self.state_dir / (f"keys-{name}.lock" if name else "keys.lock")),
                        mode=0o600)

    def _update(self, change) -> None:
        try:
            with self.lock():
                data = {"version": 1, "keys": self.entries()}
                change(data["keys"])
                statefiles.write_private(self.index_path, json.dumps(data, indent=1).encode())
        except OSError as exc:
            raise FileWriteError(f"cannot write the keys index {self.index_path}: {exc}") \
                from None

    # -- keys -----------------------------------------------------------------------------

    def get(self, name: str) -> LongLived:
        """The keys ``name``, from the keyring (over D-Bus directly when it can)."""
        check_name(name)
        secret = self.secrets.fast_get(SECRET_SERVICE, name)
        if secret is None:
            self._secure()
            secret = self.secrets.get(name)
        if secret is None:
            raise UsageError(f"no keys named {name!r} in the keyring",
                             fix=f"add them: rolecall keys add {name}")
        try:
            data = json.loads(secret)
            return LongLived(data["AccessKeyId"], data["SecretAccessKey"])
        except (ValueError, KeyError, TypeError):
            raise KeyringError(f"the keyring item of keys {name!r} is not rolecall's keys",
                               fix=f"remove and add them again: rolecall keys rm {name}") \
                from None

    def check_new(self, name: str) -> None:
        """Raise unless keys ``name`` can be added: a secure keyring, no keys of that name
        (checked before any secret is asked for, and again before it is stored)."""
        check_name(name)
        self._secure()
        if name in self.entries() or self.exists(name):
            raise UsageError(f"keys named {name!r} exist already",
                             fix=f"rotate them (rolecall keys rotate {name}), or remove them "
                             f"first (rolecall keys rm {name})")

    def exists(self, name: str) -> bool:
        try:
            self.get(name)
        except UsageError:
            return False
        return True

    def put(self, name: str, keys: LongLived, facts: dict) -> None:
        """Store ``keys`` as ``name`` (replacing them) and index ``facts`` with the masked
        key id. The keyring first: an index entry never names keys that are not there."""
        self.store_secret(name, keys)
        self.index(name, keys, facts)

    def store_secret(self, name: str, keys: LongLived) -> None:
        """The keyring half of :meth:`put`."""
        check_name(name)
        self._secure()
        payload = json.dumps({**keys.process_json(), "Name": name})
        self.secrets.set_many({name: (payload, f"rolecall keys: {name}")})

    def index(self, name: str, keys: LongLived, facts: dict) -> None:
        """The index half of :meth:`put`."""
        self._update(lambda index: index.__setitem__(name, {
            **index.get(name, {}), **facts, "key_id": mask(keys.access_key_id)}))

    def remove(self, name: str) -> bool:
        """Delete the keys ``name`` (keyring item and index entry); whether there were any."""
        check_name(name)
        known = name in self.entries() or self.exists(name)
        if known:
            self._secure()
            self.secrets.delete([name])
            self._update(lambda index: index.pop(name, None))
        return known


@dataclass(frozen=True)
class Identity:
    """Who a pair of keys is, as STS says, and when IAM says the key was made."""

    arn: str
    account_id: str
    created_at: str | None = None

    @property
    def user_name(self) -> str:
        return self.arn.rsplit("/", 1)[-1]


def client(service: str, keys: LongLived):
    """A client signed with ``keys``; the endpoint as botocore finds it."""
    from profiles.sessions import sts  # lazy: botocore only when AWS is called

    return sts.service_client(service, sts.default_region(), keys.access_key_id,
                              keys.secret_access_key)


def identify(keys: LongLived, what: str, make=client) -> Identity:
    """``GetCallerIdentity`` with ``keys``, and (when IAM lets the user read it) the key's
    creation date; refuses the account's root keys."""
    from profiles.sessions import sts  # lazy: botocore only when AWS is called

    try:
        found = make("sts", keys).get_caller_identity()
    except Exception as exc:  # noqa: BLE001 - one line for any failure
        raise sts.explain(exc, f"GetCallerIdentity with {what}") from None
    arn, account = found["Arn"], found["Account"]
    if not re.fullmatch(r"arn:aws[a-z-]*:iam::\d{12}:user/.+", arn):
        raise UsageError(f"{what} belong to {arn}, not an IAM user",
                         fix="keep an IAM user's keys here (never the root user's)")
    identity = Identity(arn, account)
    try:
        listed = make("iam", keys).list_access_keys(UserName=identity.user_name)
        created = next(k["CreateDate"] for k in listed["AccessKeyMetadata"]
                       if k["AccessKeyId"] == keys.access_key_id)
        identity = Identity(arn, account, created.strftime("%Y-%m-%dT%H:%M:%SZ"))
    except Exception:  # noqa: BLE001 - the age is a courtesy; IAM may not allow reading it
        pass
    return identity


def add(store: KeyStore, name: str, keys: LongLived, *, verify: bool = True,
        make=client) -> dict:
    """Store new keys as ``name`` (never over existing ones); with ``verify``, only once
    STS accepts them. Returns the index entry."""
    store.check_new(name)
    facts: dict[str, object] = {"added_at": _now_iso()}
    if verify:
        identity = identify(keys, f"the keys for {name}", make)
        facts.update(arn=identity.arn, account_id=identity.account_id,
                     created_at=identity.created_at)
    store.put(name, keys, facts)
    return store.entries()[name]


def process(store: KeyStore, name: str) -> dict[str, object]:
    return store.get(name).process_json()


def age(entry: dict, now: float) -> float | None:
    """Seconds since the key was created (else since it was added), or None."""
    for key in ("created_at", "added_at"):
        if isinstance(entry.get(key), str):
            try:
                return now - parse_iso(entry[key]).timestamp()
            except ValueError:
                continue
    return None


def failure(what: str, exc: Exception) -> RolecallError:
    """Any failure of an IAM or STS call as one line (AWS's code kept)."""
    from profiles.sessions import sts  # lazy: botocore only when AWS is called

    return sts.explain(exc, what)
