"""The oracle's corpus: AWS config scenarios as data (``corpus/*.toml``), each citing
where it was taken from.

A scenario is the AWS files (and optionally a catalog and environment variables), the
role profile to resolve, and the intended differences (ids in ``differences.py``) it is
expected to show. Placeholders filled at run time: ``@imds@`` (a fake instance metadata
service), ``@container@`` (a fake container credentials endpoint), ``@process@`` (a
credential_process command), ``@token@`` (a web identity token file), ``@home@``.
"""

from __future__ import annotations

import base64
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

CORPUS = Path(__file__).parent / "corpus"
KEYS = {"id", "source", "role", "config", "config_base64", "credentials", "catalog", "env",
        "mfa", "expect", "cli", "note", "sso_token", "fails"}


@dataclass(frozen=True)
class Scenario:
    id: str
    source: str  # where it comes from: repository and file (and test), or "rolecall"
    role: str  # the profile both sides resolve
    config: bytes
    credentials: str = ""
    catalog: str = ""
    env: dict[str, str] = field(default_factory=dict)
    mfa: str | None = None  # the code every MFA prompt is answered with
    expect: tuple[str, ...] = ()  # intended differences
    cli: bool = False  # also compared through the real AWS CLI and rolecall CLI
    fails: bool = False  # botocore refuses or fails it (so must rolecall)
    note: str = ""
    sso_token: str | None = None  # start URL or sso-session name with a cached token

    @property
    def file(self) -> str:
        return self.id.split("-", 1)[0]


def _scenario(raw: dict, path: Path) -> Scenario:
    if unknown := set(raw) - KEYS:
        raise ValueError(f"{path.name}: {raw.get('id')}: unknown keys {sorted(unknown)}")
    if "config_base64" in raw:
        config = base64.b64decode(raw["config_base64"])
    else:
        config = raw["config"].encode()
    return Scenario(
        id=raw["id"], source=raw["source"], role=raw["role"], config=config,
        credentials=raw.get("credentials", ""), catalog=raw.get("catalog", ""),
        env=dict(raw.get("env", {})), mfa=raw.get("mfa"), expect=tuple(raw.get("expect", ())),
        cli=bool(raw.get("cli", False)), note=raw.get("note", ""),
        sso_token=raw.get("sso_token"), fails=bool(raw.get("fails", False)),
    )


def load(directory: Path = CORPUS) -> list[Scenario]:
    out: list[Scenario] = []
    for path in sorted(directory.glob("*.toml")):
        data = tomllib.loads(path.read_text())
        out += [_scenario(raw, path) for raw in data["scenario"]]
    ids = [s.id for s in out]
    if len(ids) != len(set(ids)):
        raise ValueError("duplicate scenario ids")
    return out


def fill(text: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    return text
