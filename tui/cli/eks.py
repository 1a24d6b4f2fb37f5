"""``rolecall eks token ROLE --cluster NAME [--region R]``: kubectl's exec credential for
an EKS cluster, signed with ROLE's session; ``rolecall eks kubeconfig ROLE --cluster NAME
[--server URL] [--ca-file F] [--region R] [--context C]``: the kubeconfig entry whose
``exec`` runs it.

kubectl runs ``eks token`` before every command it sends, so a cached token is served
before the parser is built (:func:`fast`: the standard library and jeepney only).
"""

import sys

TOKEN_HELP = ("kubectl's exec credential (ExecCredential JSON) for an EKS cluster, signed "
              "with ROLE's session; cached in the keyring until a minute before its end")
KUBECONFIG_HELP = ("write the cluster, a user whose exec runs `rolecall eks token` and a "
                   "context into the kubeconfig (and make it current)")


def _token_args(args: list[str]) -> tuple[str, str, str | None] | None:
    """``(role, cluster, region)`` of ``eks token ROLE --cluster NAME [--region R]`` (options
    in any order, ``--opt=value`` too, ROLE after ``--``); None for anything else."""
    if args[:2] != ["eks", "token"]:
        return None
    found: dict[str, str] = {}
    rest, i = args[2:], 0
    while i < len(rest):
        word = rest[i]
        if word == "--":
            if "role" in found or i != len(rest) - 2:
                return None
            found["role"] = rest[i + 1]
            break
        name, eq, value = word.partition("=")
        if name in ("--cluster", "--region"):
            if not eq:
                if i + 1 >= len(rest):
                    return None
                value, i = rest[i + 1], i + 1
            key = name[2:]
        elif word.startswith("-") or "role" in found:
            return None
        else:
            key, value = "role", word
        if key in found:
            return None
        found[key] = value
        i += 1
    if "role" not in found or "cluster" not in found:
        return None
    return found["role"], found["cluster"], found.get("region")


def fast(args: list[str]) -> int | None:
    """Serve a cached token; None sends anything else (a miss, other arguments) on."""
    asked = _token_args(args)
    if asked is None:
        return None
    # lazy: the hot path: only what a cached token needs
    from profiles.eks import credential

    hit = credential.cached(*asked)
    if hit is None:
        return None
    sys.stdout.write(credential.document(hit[0], hit[1], credential.api_version()))
    return 0


def _notice(ws) -> None:
    # lazy: the core when a command runs, not when the parser is built
    from profiles.doors.terminal import shown

    if warning := ws.cache.take_warning():
        message, _, fix = warning.partition("\n  fix: ")
        print(f"rolecall: note: {shown(message)}", file=sys.stderr)
        if fix:
            print(f"  fix: {shown(fix)}", file=sys.stderr)


def cmd_token(ns) -> int:
    # lazy: the core when a command runs, not when the parser is built
    from profiles.eks import credential
    from profiles.eks.token import token
    from tui.cli import common

    ws = common.workspace()
    made = token(ws, ns.role, ns.cluster, ns.region)
    _notice(ws)
    sys.stdout.write(credential.document(made.value, made.expires, credential.api_version()))
    return 0


def cmd_kubeconfig(ns) -> int:
    # lazy: the core when a command runs, not when the parser is built
    import shlex
    from pathlib import Path

    from profiles.doors.terminal import shown
    from profiles.eks import kubeconfig
    from profiles.eks.clusters import check_cluster, check_region_arg
    from tui.cli import common

    check_cluster(ns.cluster)
    check_region_arg(ns.region)
    ca = kubeconfig.ca_data(Path(ns.ca_file)) if ns.ca_file else None
    if ns.server:
        kubeconfig.check_server(ns.server)
    if ns.context is not None:
        kubeconfig.check_text(ns.context, "context name")
    ws = common.workspace()
    where, new = kubeconfig.add(ws, ns.role, ns.cluster, server=ns.server, ca=ca,
                                region=ns.region, context=ns.context)
    _notice(ws)
    verb = "added" if new.created else "updated"
    command = shlex.join(["rolecall", *new.entry.user["exec"]["args"]])
    print(f"{verb} context {shown(new.entry.context)} in {shown(where)} (now the current "
          f"context); kubectl gets its token from `{shown(command)}`")
    return 0


def register(commands) -> None:
    """``eks token`` and ``eks kubeconfig`` in the parser (``tui.cli.parser.Commands``)."""
    # lazy: the parser's classes only when the parser is built (fast() needs none)
    import argparse

    from tui.cli.parser import Parser, _Subcommands

    p = commands.add("eks", lambda ns: ns.eks_func(ns), "Amazon EKS: kubectl's token from a "
                     "role, and the kubeconfig entry that asks rolecall for it", role=False)
    sub = p.add_subparsers(dest="eks_action", metavar="ACTION", parser_class=Parser,
                           action=_Subcommands, required=True)

    def action(name: str, func, help_text: str) -> Parser:
        q = sub.add_parser(name, help=help_text, description=help_text)
        q.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
        q.add_argument("role", metavar="ROLE", help="a role profile or catalog role")
        arg = q.add_argument("--cluster", required=True, metavar="NAME",
                             help="the EKS cluster's name")
        arg.complete = "clusters"  # type: ignore[attr-defined]
        q.add_argument("--region", metavar="R", help="the cluster's region (default: the "
                       "catalog's for that cluster, else the role's)")
        q.set_defaults(eks_func=func)
        return q

    action("token", cmd_token, TOKEN_HELP)
    q = action("kubeconfig", cmd_kubeconfig, KUBECONFIG_HELP)
    q.add_argument("--server", metavar="URL", help="the cluster's API endpoint (default: "
                   "EKS DescribeCluster, read as ROLE)")
    q.add_argument("--ca-file", metavar="F", help="the cluster's CA certificate (PEM), "
                   "embedded (default: DescribeCluster's, or none with --server)")
    q.add_argument("--context", metavar="C", help="the context's name (default: "
                   "ROLE@CLUSTER)")
