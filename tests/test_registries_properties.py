"""Generated registry catalogs: whatever a registry's copy holds, ``list``, ``registry
list`` and the board's rows either work or fail in one clean line; a registry never
sets the user's settings, and its names never reach the terminal raw."""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st

from profiles.config import inventory
from profiles.registries import copies, merge, spec
from tests.test_properties import CATALOG, NAMES, SETTINGS, TEXT, Sandbox, assert_clean

HOSTILE = st.sampled_from(["a]b", "[/]", "x\x1b[2J", "line\nbreak", "settings", "base",
                           "a/b", "\u202eevil", "ok-role"])
ROLE = st.fixed_dictionaries({"role_arn": st.sampled_from([
    "arn:aws:iam::111111111111:role/R", "arn:aws:iam::1:role/R", "nope"])},
    optional={"source": st.one_of(NAMES, HOSTILE), "trust_policy": st.one_of(TEXT, HOSTILE),
              "session_name": st.sampled_from(["{user}", "{env:HOME}", "x"]),
              "region": TEXT})
REGISTRY_CATALOG = st.one_of(CATALOG, st.fixed_dictionaries({}, optional={
    "roles": st.dictionaries(st.one_of(NAMES, HOSTILE, TEXT), ROLE, max_size=4),
    "accounts": st.dictionaries(st.sampled_from(["111111111111", "1"]), st.fixed_dictionaries(
        {}, optional={"alias": st.one_of(TEXT, HOSTILE), "tags": st.lists(TEXT, max_size=2),
                      "audit_role": st.one_of(NAMES, HOSTILE)}), max_size=2),
    "settings": st.just({"refresh_window": "1s"}),
}))


def _write(box: Sandbox, name: str, text: str, prefix: bool) -> None:
    box.write("rolecall.toml", f'[registries.{name}]\nurl = "https://example.com/{name}.git"\n'
              + ("prefix = true\n" if prefix else ""))
    copies.write(name, copies.Copy(f"https://example.com/{name}.git", None, "catalog.toml",
                                   "0" * 40, time.time(), text), box.dir / "state")
    copies.change_status(name, {"attempted_at": time.time()}, box.dir / "state")


@SETTINGS
@given(catalog=REGISTRY_CATALOG, garbage=st.one_of(st.none(), TEXT), prefix=st.booleans())
def test_any_registry_copy_lists_or_is_refused_cleanly(catalog, garbage, prefix):
    import tomlkit

    with Sandbox() as box:
        box.write("config", "[profile base]\n[profile a]\nrole_arn = "
                  "arn:aws:iam::111111111111:role/A\nsource_profile = base\n")
        try:
            text = garbage if garbage is not None else tomlkit.dumps(catalog)
        except (ValueError, TypeError):
            return  # tomlkit cannot write it: no registry could hold it either
        _write(box, "team", text, prefix)
        for argv in (("list",), ("list", "--json"), ("registry", "list"),
                     ("registry", "list", "--json")):
            code, out, err = box.run(*argv)
            assert_clean(code, err)
            assert code == 0, err  # a registry's copy never stops the user's own roles
            assert not any(c in out + err for c in "\x1b\u202e\x00"), (out, err)
        inv = inventory.load(state_dir=box.dir / "state")
        assert inv.settings.refresh_window == 300  # never the registry's "1s"
        assert inv.roles["a"].registry is None  # the user's own stays the user's
        registry = inv.registries["team"]
        assert registry.problem is None or registry.roles == 0
        try:
            merge.parse(spec.make("team", "https://example.com/team.git"),
                        copies.read("team", box.dir / "state"))
        except Exception as exc:  # noqa: BLE001 - only ConfigError may come out
            assert type(exc).__name__ == "ConfigError", repr(exc)


@SETTINGS
@given(ref=st.one_of(TEXT, st.from_regex(r"[-A-Za-z0-9_./@{}:~^ ]{1,20}", fullmatch=True)))
def test_a_ref_rolecall_takes_is_one_git_takes(ref):
    import subprocess

    from profiles.errors import UsageError

    try:
        spec.check_ref(ref)
    except UsageError:
        return
    assert not ref.startswith("-")
    proc = subprocess.run(["git", "check-ref-format", "--allow-onelevel", ref],
                          capture_output=True)
    assert proc.returncode == 0, ref


@SETTINGS
@given(path=st.one_of(TEXT, st.from_regex(r"[a-z./\\~-]{1,16}", fullmatch=True)),
       url=st.one_of(TEXT, st.from_regex(r"[-a-z:/@.]{1,24}", fullmatch=True)))
def test_paths_stay_inside_and_urls_are_never_options(path, url):
    import posixpath

    from profiles.errors import UsageError

    try:
        spec.check_path(path)
        assert posixpath.normpath(path) == path and not path.startswith(("/", ".."))
    except UsageError:
        pass
    try:
        spec.check_url(url)
        assert not url.startswith("-") and not url.lower().startswith(("ext::", "fd::"))
    except UsageError:
        pass
