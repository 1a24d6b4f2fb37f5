"""What a request carries: its condition keys, each known, known absent, or unknown, and
three-valued logic (``True``, ``False``, ``None`` for unknown) to combine the answers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

Tri = bool | None


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


MISSING = _Marker("MISSING")  # the request carries no such key (IAM: "not present")
UNKNOWN = _Marker("UNKNOWN")  # the request may carry it; rolecall cannot know its value
Value = tuple[str, ...] | _Marker


def all3(results: Iterable[Tri]) -> Tri:
    """Kleene AND: any False wins, then any unknown."""
    unknown = False
    for result in results:
        if result is False:
            return False
        unknown = unknown or result is None
    return None if unknown else True


def any3(results: Iterable[Tri]) -> Tri:
    """Kleene OR: any True wins, then any unknown."""
    unknown = False
    for result in results:
        if result is True:
            return True
        unknown = unknown or result is None
    return None if unknown else False


def not3(result: Tri) -> Tri:
    return None if result is None else not result


@dataclass
class Context:
    """Condition keys by lower-cased name. A key not listed is unknown, unless it starts
    with a ``closed`` prefix (e.g. ``aws:principaltag/`` once the tags were read)."""

    values: dict[str, Value] = field(default_factory=dict)
    closed: tuple[str, ...] = ()

    @classmethod
    def of(cls, known: dict[str, object], closed: Iterable[str] = ()) -> Context:
        """From ``{key: str | list | None | UNKNOWN}``; None means known absent."""
        values: dict[str, Value] = {}
        for key, value in known.items():
            if value is None:
                values[key.lower()] = MISSING
            elif isinstance(value, _Marker):
                values[key.lower()] = value
            elif isinstance(value, str):
                values[key.lower()] = (value,)
            else:
                values[key.lower()] = tuple(str(v) for v in value)  # type: ignore[union-attr]
        return cls(values, tuple(p.lower() for p in closed))

    def get(self, key: str) -> Value:
        name = key.lower()
        if name in self.values:
            return self.values[name]
        if any(name.startswith(prefix) for prefix in self.closed):
            return MISSING
        return UNKNOWN
