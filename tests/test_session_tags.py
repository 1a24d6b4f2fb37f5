"""Session tags and source identity: catalog keys checked at load
against STS's rules, sent on AssumeRole (seen through botocore's own parameter hook on
the engine's real clients, against moto), kept by AWS's chain rules before STS is
called, part of the session's identity in the cache, and shown in the detail pane."""

from __future__ import annotations

import getpass
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profiles.config import inventory
from profiles.errors import AwsError, UsageError
from profiles.sessions import tagging
from profiles.sessions.cache import SessionCache
from profiles.sessions.names import sanitise
from profiles.workspace import Workspace
from tests.helpers import StsCalls

EXAMPLES = int(os.environ.get("ROLECALL_PROPERTY_EXAMPLES", "60"))
ARN = "arn:aws:iam::111111111111:role/Tagged"


def load(tmp_path, roles: str, settings_text: str = ""):
    config, catalog = tmp_path / "config", tmp_path / "rolecall.toml"
    config.write_text("[profile base]\nregion = us-east-1\n")
    catalog.write_text(f"[settings]\n{settings_text}\n{roles}")
    return inventory.load(config, tmp_path / "credentials", catalog)


def role_table(body: str, name: str = "t") -> str:
    return f'[roles.{name}]\nrole_arn = "{ARN}"\nsource = "base"\n{body}\n'


@pytest.mark.parametrize(("body", "needle"), [
    ('tags = "team=x"', "tags must be a table of strings"),
    ("tags = {team = 1}", "tags must be a table of strings"),
    ('tags = {"a;b" = "x"}', "tag key 'a;b' is not one STS accepts"),
    ('tags = {team = "a\\u0000b"}', "a tag value contains a control"),
    ('tags = {"aws:team" = "x"}', "reserved prefix aws:"),
    ('tags = {Team = "x", team = "y"}', "appears twice (STS ignores case)"),
    (f'tags = {{team = "{"v" * 257}"}}', "the value of tag 'team' is not one STS accepts"),
    ("tags = {" + ", ".join(f'k{i} = "v"' for i in range(51)) + "}", "51 tags"),
    ('tags = {team = "x"}\ntransitive_tag_keys = ["owner"]', "names 'owner', which is not"),
    ('transitive_tag_keys = "team"', "must be a list of tag keys"),
    ('source_identity = "alice smith"', "source_identity: invalid source_identity"),
    ('source_identity = "{nobody}"', "unknown field {nobody}"),
    ('source_identity = "a"', "invalid source_identity"),
])
def test_bad_tags_break_only_their_role(tmp_path, body, needle):
    inv = load(tmp_path, role_table(body) + role_table("", "fine"))
    assert "fine" in inv.roles and "t" not in inv.roles
    message = inv.broken["t"].message
    assert "[roles.t]" in message and needle in message, message


def test_tags_source_identity_and_transitive_keys_load_in_order(tmp_path):
    inv = load(tmp_path, role_table('source_identity = "{user}"\n'
                                    'tags = {team = "platform", "cost center" = "4 2", '
                                    'owner = "é@x.io"}\ntransitive_tag_keys = ["team"]'))
    role = inv.roles["t"]
    assert role.source_identity == "{user}"
    assert role.tags == (("team", "platform"), ("cost center", "4 2"), ("owner", "é@x.io"))
    assert role.transitive_tag_keys == ("team",)


def test_the_catalog_default_source_identity_is_checked(tmp_path):
    with pytest.raises(UsageError, match="source_identity"):
        load(tmp_path, "", 'source_identity = "bad name"')


TAG_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tags=st.dictionaries(TAG_TEXT, TAG_TEXT, max_size=4), identity=TAG_TEXT)
def test_any_tags_load_or_break_the_role_with_a_message(tmp_path, tags, identity):
    import tomlkit

    doc = tomlkit.document()
    doc["roles"] = {"t": {"role_arn": ARN, "source": "base", "tags": tags,
                          "source_identity": identity}}
    config, catalog = tmp_path / "config", tmp_path / "c.toml"
    config.write_text("[profile base]\n")
    catalog.write_text(tomlkit.dumps(doc))
    inv = inventory.load(config, tmp_path / "credentials", catalog)
    if "t" in inv.broken:
        assert "[roles.t]" in inv.broken["t"].message
        return
    role = inv.roles["t"]
    for key, value in role.tags:  # what loads, STS accepts: its own model's rules
        assert STS_RULES["tagKeyType"](key) and STS_RULES["tagValueType"](value), (key, value)
        assert not key.lower().startswith("aws:")
    if "{" not in identity:
        assert STS_RULES["sourceIdentityType"](identity) and len(identity) <= 64


def _sts_rules() -> dict:
    """Each STS shape's length and pattern, from botocore's model of STS (its ``\\p{L}``
    classes need the ``regex`` module, which moto[server] brings)."""
    import botocore.session
    import regex

    model = botocore.session.get_session().get_service_model("sts")
    rules = {}
    for name in ("tagKeyType", "tagValueType", "sourceIdentityType"):
        meta = model.shape_for(name).metadata
        pattern = regex.compile(meta["pattern"])
        rules[name] = (lambda text, m=meta, p=pattern: m.get("min", 0) <= len(text)
                       <= m["max"] and p.fullmatch(text) is not None)
    return rules


STS_RULES = _sts_rules()


# -- sent on AssumeRole, against moto ---------------------------------------------------


def tagged_world(world, first: str, second: str = "") -> None:
    one = world.moto.create_role("111111111111", "TagOne")
    two = world.moto.create_role("222222222222", "TagTwo")
    world.write_config("[profile base]\nregion = us-east-1\n")
    world.base_profile()
    world.catalog.write_text(
        f'[roles.one]\nrole_arn = "{one}"\nsource = "base"\n{first}\n\n'
        f'[roles.two]\nrole_arn = "{two}"\nsource = "one"\n{second}\n')


def ws() -> Workspace:
    return Workspace(cache=SessionCache())


def test_tags_and_source_identity_go_with_assume_role(world):
    tagged_world(world, 'source_identity = "{user}"\ntags = {team = "platform", env = "dev"}\n'
                        'transitive_tag_keys = ["team"]')
    with StsCalls().active() as calls:
        result = ws().assume("one")
    (sent,) = calls
    assert sent["SourceIdentity"] == sanitise(getpass.getuser())
    assert sent["Tags"] == [{"Key": "team", "Value": "platform"}, {"Key": "env", "Value": "dev"}]
    assert sent["TransitiveTagKeys"] == ["team"]
    params = result.session.params
    assert params["source_identity"] == sent["SourceIdentity"]
    assert params["transitive"] == ["team"] and params["tags"] == [["team", "platform"],
                                                                    ["env", "dev"]]


def test_a_chained_hop_inherits_the_source_identity_and_keeps_transitive_tags(world):
    tagged_world(world, 'source_identity = "alice"\ntags = {team = "platform"}\n'
                        'transitive_tag_keys = ["team"]',
                 'source_identity = "alice"\ntags = {task = "deploy"}')
    with StsCalls().active() as calls:
        result = ws().assume("two")
    first, second = calls
    assert first["SourceIdentity"] == "alice"
    assert "SourceIdentity" not in second  # AWS keeps it down the chain: not sent again
    assert second["Tags"] == [{"Key": "task", "Value": "deploy"}]
    assert result.session.params["source_identity"] == "alice"
    assert result.session.params["transitive"] == ["team"]


@pytest.mark.parametrize(("second", "needle"), [
    ('source_identity = "bob"', "carries 'alice', which AWS keeps"),
    ('tags = {TEAM = "other"}', "passes on as transitive"),
])
def test_a_chained_hop_that_breaks_aws_chain_rules_is_refused_before_sts(world, second,
                                                                        needle):
    tagged_world(world, 'source_identity = "alice"\ntags = {team = "platform"}\n'
                        'transitive_tag_keys = ["team"]', second)
    workspace = ws()
    workspace.assume("one")
    with StsCalls().active() as calls, pytest.raises(UsageError, match=needle):
        workspace.assume("two")
    assert calls == []  # nothing was sent for the hop that would fail


def test_changing_the_tags_means_a_new_session(world):
    tagged_world(world, 'tags = {team = "a"}')
    assert not ws().assume("one").cached[-1]
    assert ws().assume("one").cached[-1]
    world.catalog.write_text(world.catalog.read_text().replace('"a"', '"b"'))
    with StsCalls().active() as calls:
        assert not ws().assume("one").cached[-1]
    assert calls[0]["Tags"] == [{"Key": "team", "Value": "b"}]


def test_a_role_without_tags_keeps_its_cache_key(tmp_path):
    from profiles.sessions.plan import _key, plan_of

    inv = load(tmp_path, role_table(""))
    step = plan_of(inv, "t").steps[-1]
    assert step.key == _key("role", "base:base", ARN, "", "", "t")  # as before tags existed


def test_a_denial_says_the_trust_policy_must_allow_tagging():
    denied = AwsError("AssumeRole denied", fix="both sides must allow it")
    denied.code = "AccessDenied"
    fix = tagging.denied_fix(denied, {"Tags": [], "SourceIdentity": "a"}).fix
    assert fix.endswith("sets Tags and SourceIdentity: the trust policy must allow "
                        "sts:TagSession and sts:SetSourceIdentity too")
    other = AwsError("throttled")
    other.code = "Throttling"
    assert tagging.denied_fix(other, {"Tags": []}).fix is None


# -- the detail pane --------------------------------------------------------------------


async def test_the_detail_pane_shows_source_identity_and_tags(world):
    from tests.tui_world import Clock, until
    from tui.board.app import RolecallApp

    tagged_world(world, 'source_identity = "{user}"\ntags = {"a:b" = "x=y+z @é", team = "p"}\n'
                        'transitive_tag_keys = ["team"]')  # no markup: STS refuses [ and ]
    workspace = ws()
    app = RolecallApp(clock=Clock(), workspace=workspace, auto_renew=False, ticking=False)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = app.board_screen
        await screen.loaded()
        screen.board.select("one")
        await pilot.pause()
        pane = screen.detail.plain
        assert "{user} (set when assumed)" in pane
        assert "a:b=x=y+z @é, team=p (transitive)" in pane
        workspace.assume("one")
        screen.reload(select="one")
        await until(pilot, lambda: sanitise(getpass.getuser()) in screen.detail.plain
                    and "set when" not in screen.detail.plain)


# -- doctor evaluates the tags the request will carry -----------------------------------


@pytest.mark.parametrize(("team", "result"), [("platform", "pass"), ("other", "fail")])
def test_doctor_knows_the_request_tags(world, team, result):
    from tests.test_trust_doctor import Estate, _account, _doc, allow_assume, checks, trusts

    estate = Estate(world)
    estate.user_policy(allow_assume())
    account = _account()
    estate.role("tagged", account, "Tagged", _doc(trusts(
        estate.user_arn, StringEquals={"aws:RequestTag/team": "platform",
                                       "sts:SourceIdentity": "alice"})))
    estate.reader(account)
    world.catalog.write_text(f'[roles.tagged]\ntags = {{team = "{team}"}}\n'
                             'source_identity = "alice"\n')
    _, report = estate.doctor("tagged")
    assert checks(report["hops"][0])["trust"]["result"] == result, report


def test_tags_survive_the_inventory_snapshot(tmp_path):
    import time as clock

    from profiles.config import snapshot

    config, catalog = tmp_path / "config", tmp_path / "rolecall.toml"
    config.write_text("[profile base]\n")
    catalog.write_text(role_table('tags = {team = "a", env = "b"}\ntransitive_tag_keys = '
                                  '["env"]\nsource_identity = "{user}"') + role_table("", "u"))
    past = clock.time() - 60
    for path in (config, catalog):
        os.utime(path, (past, past))
    files = (config, tmp_path / "credentials", catalog)
    parsed = snapshot.load(*files, state_dir=tmp_path / "state")
    cached = snapshot.read(*files, state_dir=tmp_path / "state")
    assert cached is not None and cached.roles == parsed.roles
    assert cached.roles["t"].tags == (("team", "a"), ("env", "b"))
    assert cached.roles["u"].tags == () and cached.roles["u"].transitive_tag_keys == ()
