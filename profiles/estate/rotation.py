"""``keys rotate``: a new access key for the same IAM user, proved, stored, and only then
the old one deleted, so the user is never left without a working key.

1. ``GetCallerIdentity`` with the old key: whose keys these are.
2. ``CreateAccessKey`` (signed by the old key). IAM allows two keys per user: with two
   already, nothing is created and the message lists them (an interrupted rotation
   leaves one behind: delete it by hand, never by guess).
3. ``GetCallerIdentity`` with the new key until STS accepts it as the same user (IAM is
   eventually consistent: a new key may be refused for a few seconds), bounded back-off.
4. The new key replaces the old in the keyring.
5. ``DeleteAccessKey`` of the old key, signed by the new one (retried the same way).

A failure at 2 or 3 deletes the new key again and keeps the old one stored; at 5 the
new key is stored and working and the message says how to delete the old one. A failure
at 4 may be a lie (a D-Bus reply lost after the keyring stored the key), so what the
keyring holds is read back first: the new key, and the rotation goes on; the old one
(put back if the keyring holds neither), and the new key is deleted; nothing readable,
and nothing is deleted (both keys stay active, and the message says so).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from profiles.errors import AwsError, KeyringError, RolecallError, UsageError
from profiles.estate.keys import KeyStore, LongLived, _now_iso, client, failure, identify, mask

# IAM's documentation: a new key may take a few seconds to work everywhere.
BACKOFF = (1.0, 2.0, 4.0, 8.0)  # 5 tries over 15 seconds
NOT_YET = ("InvalidClientTokenId", "SignatureDoesNotMatch", "AuthFailure")


@dataclass(frozen=True)
class Rotation:
    name: str
    arn: str
    old: str  # masked key ids
    new: str
    notes: tuple[str, ...] = ()


def _retry(call: Callable[[], object], sleep: Callable[[float], None]) -> object:
    """``call()``, again after each delay of :data:`BACKOFF` while AWS does not know the
    new key yet; any other failure at once."""
    for delay in (*BACKOFF, None):
        try:
            return call()
        except RolecallError as exc:
            if exc.code not in NOT_YET or delay is None:
                raise
        sleep(delay)
    raise AssertionError("unreachable")


def rotate(store: KeyStore, name: str, *, make=client,
           sleep: Callable[[float], None] = time.sleep) -> Rotation:
    """Rotate the keys ``name`` (one rotation of a name at a time)."""
    from filelock import Timeout  # lazy: filelock only when a rotation runs

    lock = store.lock(name)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise RolecallError(f"another `rolecall keys rotate {name}` is running",
                            fix="wait for it to finish") from None
    try:
        return _rotate(store, name, make, sleep)
    finally:
        lock.release()


def _rotate(store: KeyStore, name: str, make, sleep) -> Rotation:
    old = store.get(name)
    who = identify(old, f"the keys {name}", make)
    user = who.user_name
    iam = make("iam", old)
    try:
        made = iam.create_access_key(UserName=user)["AccessKey"]
    except Exception as exc:  # noqa: BLE001
        error = failure(f"CreateAccessKey for {user}", exc)
        if error.code == "LimitExceeded":
            error = AwsError(f"{user} has two access keys already (IAM's limit); nothing "
                             "was changed", fix=_listing(iam, user, old))
        raise error from None
    new = LongLived(made["AccessKeyId"], made["SecretAccessKey"])
    try:
        def prove() -> object:
            found = identify(new, f"the new key {mask(new.access_key_id)}", make)
            if found.arn != who.arn:
                raise AwsError(f"the new key belongs to {found.arn}, not {who.arn}")
            return found

        proved = _retry(prove, sleep)
    except RolecallError as exc:
        raise _undo(iam, user, old, new, exc) from None
    notes: list[str] = []
    try:
        store.store_secret(name, new)
    except RolecallError as exc:
        _stored_anyway(store, name, iam, user, old, new, exc)
        notes.append(f"the keyring said {exc.message!r}, but it holds the new key")
    try:  # the keyring holds the new key: the index only describes it
        store.index(name, new, {"arn": who.arn, "account_id": who.account_id,
                                "created_at": getattr(proved, "created_at", None) or _now_iso(),
                                "rotated_at": _now_iso()})
    except RolecallError as exc:
        notes.append(f"{exc.message} (keys list shows the old key's facts until the next add)")
    try:
        _retry(lambda: _delete(make("iam", new), user, old.access_key_id), sleep)
    except RolecallError as exc:
        raise RolecallError(
            f"rotated {name} to {mask(new.access_key_id)} (stored and working), but the old "
            f"key {old.access_key_id} is still active: {exc.message}",
            fix=f"delete it: aws iam delete-access-key --user-name {user} --access-key-id "
            f"{old.access_key_id}") from None
    return Rotation(name, who.arn, mask(old.access_key_id), mask(new.access_key_id),
                    tuple(notes))


def _held(store: KeyStore, name: str, old: LongLived, new: LongLived) -> str:
    """Which key the keyring holds as ``name``: ``new``, ``old``, ``neither``, or
    ``unknown`` when it cannot be read."""
    try:
        held = store.get(name)
    except UsageError:  # no keys of that name
        return "neither"
    except RolecallError:
        return "unknown"
    return "new" if held == new else "old" if held == old else "neither"


def _stored_anyway(store: KeyStore, name: str, iam, user: str, old: LongLived,
                   new: LongLived, cause: RolecallError) -> None:
    """Storing the new key raised: return if the keyring holds it all the same, else
    undo what can be undone and raise what is where."""
    held = _held(store, name, old, new)
    if held == "new":
        return
    if held == "neither":  # the old key back where it was, before the new one goes
        with contextlib.suppress(RolecallError):
            store.store_secret(name, old)
        held = _held(store, name, old, new)
    if held == "old":
        raise _undo(iam, user, old, new, cause)
    if held == "unknown":
        raise KeyringError(
            f"rotation stopped: {cause.message}; the keyring cannot be read back, so it may "
            f"hold the old key {mask(old.access_key_id)} or the new {new.access_key_id}: "
            f"both stay active for {user}, nothing was deleted",
            fix=f"once the keyring answers, run `rolecall keys rotate {name}` again: it says "
            "which key the keyring holds and which to delete")
    # the keyring holds neither and takes neither: IAM as it was (the new key's secret
    # would be lost with this process), and the truth about the old one
    try:
        _delete(iam, user, new.access_key_id)
        gone = "the new key was deleted"
    except RolecallError as exc:
        gone = f"the new key {new.access_key_id} could not be deleted ({exc.message})"
    raise KeyringError(f"rotation stopped: {cause.message}; the keyring holds neither key "
                       f"and takes neither: {gone}; the old key {old.access_key_id} is "
                       "still active in IAM, but its secret is no longer in the keyring",
                       fix=f"repair the keyring, then add the old key again (rolecall keys "
                       f"add {name}) if you have its secret elsewhere, else make a new key "
                       "in the IAM console")


def _delete(iam, user: str, key_id: str) -> None:
    try:
        iam.delete_access_key(UserName=user, AccessKeyId=key_id)
    except Exception as exc:  # noqa: BLE001
        raise failure(f"DeleteAccessKey {mask(key_id)}", exc) from None


def _undo(iam, user: str, old: LongLived, new: LongLived, cause: RolecallError
          ) -> RolecallError:
    """The rotation failed before the old key was deleted: delete the new one (signed by
    the old, which still works and is still stored)."""
    kept = f"kept the old key {mask(old.access_key_id)}"
    try:
        _delete(iam, user, new.access_key_id)
    except RolecallError as exc:
        return type(cause)(
            f"rotation stopped ({cause.message}); {kept}, and the new key "
            f"{new.access_key_id} could not be deleted: {exc.message}",
            fix=f"delete it: aws iam delete-access-key --user-name {user} --access-key-id "
            f"{new.access_key_id}")
    error = type(cause)(f"rotation stopped: {cause.message}; {kept} (the new key was "
                        "deleted)", fix=cause.fix)
    error.code = cause.code
    return error


def _listing(iam, user: str, stored: LongLived) -> str:
    """The user's keys, to say which one to delete by hand."""
    try:
        keys = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
    except Exception:  # noqa: BLE001
        return (f"delete the one you no longer use (aws iam list-access-keys --user-name "
                f"{user}), then rotate again")
    others = [k for k in keys if k["AccessKeyId"] != stored.access_key_id]
    shown = ", ".join(f"{k['AccessKeyId']} ({k.get('Status', '?')}, created "
                      f"{k['CreateDate']:%Y-%m-%d})" for k in others)
    return (f"the key rolecall holds is {mask(stored.access_key_id)}; the other is {shown}: "
            f"if nothing uses it, delete it (aws iam delete-access-key --user-name {user} "
            "--access-key-id ID), then rotate again")
