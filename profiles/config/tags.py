"""Session tags and source identity (catalog keys ``tags``, ``transitive_tag_keys`` and
``source_identity``), checked at load against STS's own rules, so a bad one breaks its
role with a message naming the file and role, never an STS call.

STS's rules (its API model and the IAM guide): at most 50 tags; a key is 1 to 128
characters, a value 0 to 256, both from letters, digits, spaces and ``_ . : / = + - @``;
keys are unique ignoring case and never start with ``aws:``; transitive keys name tags of
the same request. A source identity is 2 to 64 of ``[\\w+=,.@-]`` (RoleSessionName's
characters) and never starts with ``aws:``; here it may be a template (``{user}``), as a
session name may, rendered and sanitised when the session is made.
"""

from __future__ import annotations

import json
import unicodedata

from profiles.config.text import check_value
from profiles.errors import ConfigError
from profiles.model import Role, Settings
from profiles.sessions import names as session_names

MAX_TAGS = 50
KEY_MAX, VALUE_MAX = 128, 256
TAG_PUNCTUATION = frozenset("_.:/=+-@")


def _legal(text: str) -> bool:
    """Letters, digits, spaces and STS's tag punctuation (``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]``)."""
    return all(c in TAG_PUNCTUATION or unicodedata.category(c)[0] in "LNZ" for c in text)


def check_tags(value: object, where: str) -> tuple[tuple[str, str], ...]:
    """``tags = {key = "value", ...}`` as ``((key, value), ...)`` in file order."""
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError(f"{where}: tags must be a table of strings",
                          fix='write tags = {team = "platform", "cost-center" = "42"}')
    if len(value) > MAX_TAGS:
        raise ConfigError(f"{where}: {len(value)} tags; STS takes at most {MAX_TAGS}",
                          fix="keep the tags CloudTrail and policies need")
    seen: set[str] = set()
    for key, text in value.items():
        check_value(key, where, "a tag key")
        check_value(text, where, "a tag value")
        if not 1 <= len(key) <= KEY_MAX or not _legal(key):
            raise ConfigError(f"{where}: tag key {ascii(key)} is not one STS accepts",
                              fix=f"use 1 to {KEY_MAX} letters, digits, spaces or _ . : / = + - @")
        if key.lower().startswith("aws:"):
            raise ConfigError(f"{where}: tag key {key!r} uses the reserved prefix aws:",
                              fix="choose a key without the aws: prefix")
        if key.lower() in seen:
            raise ConfigError(f"{where}: tag key {key!r} appears twice (STS ignores case)",
                              fix="keep one of them")
        seen.add(key.lower())
        if len(text) > VALUE_MAX or not _legal(text):
            raise ConfigError(f"{where}: the value of tag {key!r} is not one STS accepts",
                              fix=f"use up to {VALUE_MAX} letters, digits, spaces or "
                              "_ . : / = + - @")
    return tuple(value.items())


def check_transitive(value: object, tags: tuple[tuple[str, str], ...],
                     where: str) -> tuple[str, ...]:
    """``transitive_tag_keys = [...]``: keys of this role's own tags."""
    if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
        raise ConfigError(f"{where}: transitive_tag_keys must be a list of tag keys",
                          fix='write transitive_tag_keys = ["team"]')
    known = {key.lower() for key, _ in tags}
    for key in value:
        check_value(key, where, "transitive_tag_keys")
        if key.lower() not in known:
            raise ConfigError(f"{where}: transitive_tag_keys names {ascii(key)}, which is "
                              "not one of the role's tags", fix="add it to tags, or remove it")
    return tuple(value)


def check_source_identity(value: object, where: str, key: str = "source_identity") -> str:
    """A template with known fields, or a literal STS accepts as it is."""
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {key} must be a string", fix='e.g. source_identity = "{user}"')
    # lazy: catalog imports this module (a cycle at import time)
    from profiles.config.catalog import check_session_name

    try:
        check_session_name(value, where, key)  # the same rules as RoleSessionName's
    except ConfigError as exc:
        raise ConfigError(exc.message.replace("session name", key), fix=exc.fix) from None
    if value.lower().startswith("aws:"):
        raise ConfigError(f"{where}: {key} may not start with aws:", fix="remove the prefix")
    return value


def render_source_identity(template: str, profile: str) -> str:
    """The SourceIdentity to send: a literal as written, a template rendered and sanitised
    to RoleSessionName's pattern (which is SourceIdentity's)."""
    return session_names.resolve(template, session_names.DEFAULT_TEMPLATE, profile)


def source_identity_of(role: Role, settings: Settings) -> str | None:
    """The SourceIdentity template of ``role``: its own, else the catalog's default."""
    return role.source_identity or settings.source_identity


def key_parts(role: Role, settings: Settings) -> tuple[str, ...]:
    """What a role's tags and source identity add to its sessions' cache key: nothing
    when it has none (keys made before tags existed stay the same); else a change of
    either means a new session."""
    identity = source_identity_of(role, settings)
    if not (identity or role.tags):
        return ()
    return ("tags", json.dumps([identity, role.tags, sorted(role.transitive_tag_keys)]))


def label(tags: tuple[tuple[str, str], ...], transitive: tuple[str, ...]) -> str:
    """``key=value`` pairs, a transitive one marked ``(transitive)``: for the detail pane."""
    passed = {key.lower() for key in transitive}
    return ", ".join(f"{k}={v}" + (" (transitive)" if k.lower() in passed else "")
                     for k, v in tags)
