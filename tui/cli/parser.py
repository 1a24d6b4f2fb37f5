"""The argument parser: each command group registers its subcommands here.

Adding a group is one import and one ``register`` call in :func:`build_parser`. Usage
errors are one ``rolecall: ...`` line with a fix and exit 2; a mistyped command or
option names the closest one. Options are never abbreviated (``--dur`` is an error, so
a future option cannot change what a script meant).
"""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Callable

from profiles.doors.terminal import shown
from profiles.errors import UsageError

PROG = "rolecall"
#: ``takes_command`` values: CMD starts after ROLE (or ``--``), or only after ``--``.
AFTER_ROLE, AFTER_DASHES = "after-role", "after-dashes"


class Parser(argparse.ArgumentParser):
    """argparse whose errors are one ``rolecall: ...`` line with exit status 2."""

    def __init__(self, *args, takes_command: str | None = None, **kwargs) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        self.takes_command = takes_command

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message, fix=f"see `{self.prog} --help`")

    def _check_value(self, action: argparse.Action, value: object) -> None:
        if isinstance(action, _Subcommands) and value not in action.choices:
            raise UsageError(f"unknown command {value!r}"
                             f"{_suggest(str(value), list(action.choices))}",
                             fix=f"see `{PROG} --help` for every command")
        super()._check_value(action, value)

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        ns, extra = self.parse_known_args(args, namespace)
        if extra:
            self.unexpected(extra[0])
        return ns

    def unexpected(self, word: str) -> None:
        """Refuse an argument this (sub)command does not take, naming the closest option."""
        if word.startswith("-") and word != "-":
            options = [o for o, a in self._option_string_actions.items()
                       if o.startswith("--") and a.help is not argparse.SUPPRESS]
            what = f"unknown option {word!r} for `{self.prog}`"
            what += _suggest(word.split("=")[0], options)
        else:
            what = f"unexpected argument {word!r} for `{self.prog}`"
        raise UsageError(what, fix=f"see `{self.prog} --help`")


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


class _Subcommands(argparse._SubParsersAction):
    """Subcommands whose unknown arguments are refused by the subcommand itself, so the
    message names it and its closest option."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        super().__call__(parser, namespace, values, option_string)
        extra = getattr(namespace, argparse._UNRECOGNIZED_ARGS_ATTR, None)
        if extra:
            self._name_parser_map[values[0]].unexpected(extra[0])


class _Version(argparse.Action):
    """``--version``: the installed package's version, read only when asked."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS,
                 help="print the version and exit") -> None:
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        # lazy: importlib.metadata only for --version (it costs ~10 ms)
        from importlib import metadata

        try:
            version = metadata.version(PROG)
        except metadata.PackageNotFoundError:
            version = "(not installed)"
        print(f"{PROG} {shown(version)}")
        parser.exit()


class Commands:
    """What a command group registers with: ``add`` one subcommand, or the default."""

    def __init__(self, parser: Parser) -> None:
        self.parser = parser
        self.parsers: dict[str, Parser] = {}
        self._sub = parser.add_subparsers(dest="command", metavar="COMMAND",
                                          parser_class=Parser, action=_Subcommands)

    def add(self, name: str, func: Callable[[argparse.Namespace], int], help_text: str, *,
            role: bool = True, takes_command: str | None = None) -> Parser:
        """A subcommand running ``func(ns)``; ``role`` adds the ROLE positional;
        ``takes_command`` (AFTER_ROLE or AFTER_DASHES) gives it a CMD in ``ns.cmd``."""
        p = self._sub.add_parser(name, help=help_text, description=help_text,
                                 takes_command=takes_command)
        p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
        if role:
            p.add_argument("role", metavar="ROLE", help="a role profile or catalog role")
        p.set_defaults(func=func, cmd=[])
        self.parsers[name] = p
        return p

    def default(self, func: Callable[[argparse.Namespace], int]) -> None:
        """What ``rolecall`` with no command runs."""
        self.parser.set_defaults(func=func)


def build_parser() -> tuple[Parser, Commands]:
    # lazy: each command module imports Commands from here
    from tui.cli import (
        app,
        audit,
        completion,
        console,
        eks,
        keys,
        registry,
        roles,
        run,
        serve,
        sessions,
        shell_prompt,
        sso,
        trust,
    )

    parser = Parser(prog=PROG, description="AWS cross-account roles: assume, chain, cache "
                    "in the OS keyring, write profiles, open shells.")
    parser.add_argument("--version", action=_Version)
    parser.add_argument("--debug", action="store_true", help="show tracebacks on failure")
    parser.set_defaults(command=None)
    commands = Commands(parser)
    app.register(commands)
    roles.register(commands)
    sessions.register(commands)
    trust.register(commands)
    sso.register(commands)
    serve.register(commands)
    audit.register(commands)
    run.register(commands)
    console.register(commands)
    keys.register(commands)
    shell_prompt.register(commands)
    eks.register(commands)
    registry.register(commands)
    completion.register(commands)
    return parser, commands


def split_command(parser: Parser, args: list[str]) -> tuple[list[str], list[str]]:
    """``(rolecall's arguments, CMD)`` from what follows a command that takes one. CMD
    starts after ``--``, or (AFTER_ROLE) at the first word after ROLE that is neither an
    option of ``parser`` nor an option's value; rolecall's options may follow ROLE."""
    seen_role = False
    i = 0
    while i < len(args):
        word = args[i]
        if word == "--":
            return args[:i], args[i + 1:]
        if word.startswith("-") and word != "-":
            action = parser._option_string_actions.get(word)
            if action is not None and action.nargs != 0 and "=" not in word:
                i += 1  # its value, whatever it looks like
        elif not seen_role:
            seen_role = True
        elif parser.takes_command == AFTER_ROLE:
            return args[:i], args[i:]
        i += 1
    return args, []


def parse(args: list[str]) -> argparse.Namespace:
    """The namespace for ``args``; a command's CMD is in ``ns.cmd``, untouched."""
    parser, commands = build_parser()
    for i, word in enumerate(args):
        if word.startswith("-"):
            continue  # rolecall's own options (flags only) come before the command
        sub = commands.parsers.get(word)
        if sub is not None and sub.takes_command:
            head, command = split_command(sub, args[i + 1:])
            ns = parser.parse_args([*args[:i + 1], *head])
            ns.cmd = command  # CMD's own words: any bytes, passed on as they are
            return _checked(ns)
        break
    return _checked(parser.parse_args(args))


def _checked(ns: argparse.Namespace) -> argparse.Namespace:
    """Refuse an argument that is not text (bytes the locale cannot decode): it could
    name no role, profile or session, and would fail wherever it is written."""
    for name, value in vars(ns).items():
        if isinstance(value, str) and name != "cmd":
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise UsageError(f"{value!r} is not valid text in the locale's encoding",
                                 fix="use names made of valid UTF-8") from None
    return ns
