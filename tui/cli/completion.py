"""``rolecall completion bash|zsh|fish``: a completion script for the shell, completing
commands, options, option values and role names.

The script asks ``rolecall completion SHELL --candidates -- WORD...`` (the words so far,
the one being completed last) for candidates, one per line. They come from the parser
itself (every command, option and choice, so a new command completes with no change
here) and, for role names, from the inventory snapshot: no botocore, no keyring, no
Textual (a changed config is parsed once, and the snapshot rewritten for next time).
An option or positional without candidates (a file, a command to run) is left to the
shell's own completion.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from profiles.doors.terminal import safe, shown
from tui.cli.parser import AFTER_DASHES, AFTER_ROLE, Commands, Parser, build_parser

SHELLS = ("bash", "zsh", "fish")
ROLE_METAVARS = ("ROLE", "TARGET", "SOURCE")
_SAFE = frozenset("_./:@%+,=-")

BASH = r"""# rolecall completion for bash: eval "$(rolecall completion bash)" in ~/.bashrc
_rolecall() {
    local line
    COMPREPLY=()
    while IFS= read -r line; do
        COMPREPLY+=("$line")
    done < <(command rolecall completion bash --candidates -- \
        "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)
}
complete -o default -F _rolecall rolecall
"""

ZSH = r"""#compdef rolecall
# rolecall completion for zsh: eval "$(rolecall completion zsh)" in ~/.zshrc, after
# compinit (or save it as _rolecall in a directory on $fpath)
_rolecall() {
    local -a candidates
    candidates=(${(f)"$(command rolecall completion zsh --candidates -- \
        "${(@)words[2,CURRENT]}" 2>/dev/null)"})
    if (( ${#candidates} )); then
        compadd -- "${candidates[@]}"
    else
        _files
    fi
}
if [[ "${funcstack[1]}" == "_rolecall" ]]; then
    _rolecall "$@"
else
    compdef _rolecall rolecall
fi
"""

FISH = r"""# rolecall completion for fish:
#   rolecall completion fish > ~/.config/fish/completions/rolecall.fish
function __rolecall_complete
    set -l words (commandline -opc) (commandline -ct)
    set -l found (command rolecall completion fish --candidates -- $words[2..-1] 2>/dev/null)
    if test (count $found) -eq 0
        __fish_complete_path (commandline -ct)
    else
        printf '%s\n' $found
    end
end
complete -c rolecall -f -a '(__rolecall_complete)'
"""
SCRIPTS = {"bash": BASH, "zsh": ZSH, "fish": FISH}


def role_names() -> list[tuple[str, str]]:
    """``(name, account)`` of every role: from the inventory snapshot when it is current,
    else parsed (and snapshotted); nothing when the files do not load."""
    # lazy: the inventory snapshot only when role names are completed
    from profiles.config import snapshot

    try:
        inv = snapshot.read() or snapshot.load()
    except Exception:  # noqa: BLE001 - completion never fails out loud
        return []
    out = []
    for name, role in inv.roles.items():
        account = inv.account(role.account_id)
        out.append((name, f"{account.alias or account.id} {role.role_short_name}"))
    return out


def cluster_names() -> list[tuple[str, str]]:
    """``(cluster, roles)`` of every EKS cluster the catalog lists for a role."""
    try:
        # lazy: the inventory snapshot only when cluster names are completed
        from profiles.config import snapshot

        inv = snapshot.read() or snapshot.load()
    except Exception:  # noqa: BLE001 - completion never fails out loud
        return []
    found: dict[str, list[str]] = {}
    for name, role in inv.roles.items():
        for cluster, _region in role.eks_clusters:
            found.setdefault(cluster, []).append(name)
    return [(c, " ".join(roles)[:60]) for c, roles in sorted(found.items())]


def key_names() -> list[tuple[str, str]]:
    """The names of long-lived keys (the non-secret index; no keyring)."""
    try:
        # lazy: the keys' index only when key names are completed
        from profiles.estate.keys import KeyStore

        return [(n, str(e.get("key_id", ""))) for n, e in sorted(KeyStore().entries().items())]
    except Exception:  # noqa: BLE001
        return []


def registry_names() -> list[tuple[str, str]]:
    """The registries the catalog names, with their URLs (from the inventory snapshot)."""
    # lazy: the inventory snapshot only when registry names are completed
    from profiles.config import snapshot

    try:
        inv = snapshot.read() or snapshot.load()
    except Exception:  # noqa: BLE001 - completion never fails out loud
        return []
    return [(name, r.url) for name, r in inv.registries.items()]


def _help(action: argparse.Action | Parser | None) -> str:
    text = (getattr(action, "help", None) or getattr(action, "description", None) or "")
    return " ".join(str(text).split())[:60]


def _values(action: argparse.Action, prefix: str) -> list[tuple[str, str]]:
    """The values an option or positional takes, or [] (the shell's own completion)."""
    kind = getattr(action, "complete", None)
    if kind == "keys":
        found = key_names()
    elif kind == "clusters":
        found = cluster_names()
    elif kind == "registries":
        found = registry_names()
    elif action.choices is not None and not isinstance(action, argparse._SubParsersAction):
        found = [(str(c), "") for c in action.choices]
    elif action.metavar in ROLE_METAVARS:
        found = role_names()
    else:
        return []
    return [(v, d) for v, d in found if v.startswith(prefix)]


def _options(parser: argparse.ArgumentParser, prefix: str) -> list[tuple[str, str]]:
    return [(o, _help(a)) for o, a in parser._option_string_actions.items()
            if o.startswith("--") and o.startswith(prefix) and a.help is not argparse.SUPPRESS]


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:
    return next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)),
                None)


def candidates(parser: argparse.ArgumentParser, words: list[str]) -> list[tuple[str, str]]:
    """``(word, description)`` completing the last of ``words`` (the arguments after
    ``rolecall``, the last one being typed) under ``parser``."""
    *done, current = words or [""]
    subs = _subparsers(parser)
    positionals = [a for a in parser._actions if not a.option_strings and a is not subs]
    pending: argparse.Action | None = None  # the option whose value comes next
    count = 0
    for index, word in enumerate(done):
        if pending is not None:
            pending = None
            continue
        if word == "--":
            return []  # CMD's own words
        if word.startswith("-") and word != "-":
            action = parser._option_string_actions.get(word)
            if action is not None and action.nargs != 0:
                pending = action
            continue
        if subs is not None and count == 0 and word in subs.choices:
            return candidates(subs.choices[word], done[index + 1:] + [current])
        count += 1
        if getattr(parser, "takes_command", None) == AFTER_ROLE and count > 1:
            return []
    if pending is not None:
        return _values(pending, current)
    if current.startswith("--") and "=" in current:
        option, _, value = current.partition("=")
        action = parser._option_string_actions.get(option)
        if action is None or action.nargs == 0:
            return []
        return [(f"{option}={v}", d) for v, d in _values(action, value)]
    if current.startswith("-"):
        return _options(parser, current)
    if subs is not None and count == 0:
        return [(name, _help(p)) for name, p in subs.choices.items() if name.startswith(current)]
    singles = [a for a in positionals if a.nargs in (None, "?")]
    if count < len(singles):
        return _values(singles[count], current)
    repeated = next((a for a in positionals if a.nargs in ("*", "+")), None)
    return _values(repeated, current) if repeated is not None else []


def _unquote(word: str) -> str:
    """A word as the shell handed it (quotes and backslashes as typed) as text."""
    for tail in ("", "'", '"'):
        try:
            parts = shlex.split(word + tail)
        except ValueError:
            continue
        return parts[0] if len(parts) == 1 else word
    return word


def _bash_words(words: list[str]) -> tuple[list[str], bool]:
    """bash splits ``--format=json`` at ``=`` (COMP_WORDBREAKS): rejoin it. Whether the
    word being completed is a value after ``=`` (bash replaces only that part)."""
    out: list[str] = []
    join = after_equals = False
    for word in words:
        if word == "=" and out and out[-1].startswith("--") and "=" not in out[-1]:
            out[-1] += "="
            join = after_equals = True
        elif join:
            out[-1] += word
            join = False
        else:
            out.append(word)
            after_equals = False
    return out, after_equals


def _bash_escape(word: str) -> str:
    return "".join(c if c.isalnum() or c in _SAFE else "\\" + c for c in word)


def complete(parser: argparse.ArgumentParser, shell: str, words: list[str]) -> str:
    """The candidates as the shell's script reads them."""
    value_only = False
    if shell == "bash":
        words, value_only = _bash_words(words)
    if words:
        words = [*words[:-1], _unquote(words[-1])]
    # A candidate a terminal would act on (a name with an escape) is never offered.
    found = [(w, about) for w, about in candidates(parser, words) if safe(w)]
    lines = []
    for word, about in found:
        if shell == "bash":
            word = word.partition("=")[2] if value_only else word
            lines.append(_bash_escape(word))
        elif shell == "fish":
            about = shown(about)  # one line: fish reads word TAB description
            lines.append(f"{word}\t{about}" if about else word)
        else:
            lines.append(word)
    return "".join(f"{line}\n" for line in lines if "\n" not in line)


def cmd_completion(ns: argparse.Namespace) -> int:
    if ns.candidates:
        parser, _ = build_parser()
        sys.stdout.write(complete(parser, ns.shell, list(ns.cmd)))
        return 0
    sys.stdout.write(SCRIPTS[ns.shell])
    return 0


def register(commands: Commands) -> None:
    p = commands.add("completion", cmd_completion, "print the shell completion script "
                     "(bash, zsh or fish)", role=False, takes_command=AFTER_DASHES)
    p.add_argument("shell", metavar="SHELL", choices=SHELLS, help="bash, zsh or fish")
    p.add_argument("--candidates", action="store_true", help=argparse.SUPPRESS)
