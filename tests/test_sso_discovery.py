"""Discovery (see docs/architecture.md, IAM Identity Center): ListAccounts and ListAccountRoles,
every page, at most 10
calls in any second, throttling backed off; the roster; and the inventory's merge —
template names, catalog aliases and tags, the config's SSO profiles as the same roles,
remote names that are hostile."""

from __future__ import annotations

import json
import os
import stat

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profiles.errors import ConfigError
from profiles.estate import discovery, roster
from profiles.estate.discovery import Limiter
from profiles.estate.tokens import LoginRequired
from tests.fakes.base import ServiceError
from tests.sso_world import ACCOUNTS, ROLES, corp, identity  # noqa: F401

EXAMPLES = int(os.environ.get("ROLECALL_PROPERTY_EXAMPLES", "60"))


def windows(calls) -> int:
    """The most admitted calls in any one-second window of the fake's clock."""
    times = sorted(c.time for c in calls if c.status != 429)
    return max((sum(1 for t in times if start <= t < start + 1) for start in times),
               default=0)


def test_every_page_of_accounts_and_roles_is_listed(corp, identity):  # noqa: F811
    center = identity.center
    for i in range(20):
        center.add_account(f"{400000000000 + i}", f"team-{i}", roles=ROLES)
    corp.log_in()
    progress: list[tuple[int, int]] = []
    found, lister = corp.sync(page=7, progress=lambda done, total: progress.append(
        (done, total)))
    portal = identity.fakes.portal.calls
    assert len(found.accounts) == 23 and found.role_count == 69
    assert portal.count("ListAccounts") == 4  # 23 accounts, 7 a page
    assert portal.count("ListAccountRoles") == 23  # 3 roles each: one page
    assert all(c.params["maxResults"] == "7" for c in portal)
    assert lister.calls == len(portal) and lister.throttled == 0
    assert progress[0] == (0, 23) and progress[-1] == (23, 23)
    assert sorted(p[0] for p in progress) == list(range(24))
    by_id = {a.account_id: a for a in found.accounts}
    assert by_id["111111111111"] == roster.Listed("111111111111", "prod", ROLES)
    one = identity.center.instance().accounts["400000000000"]
    for i in range(9):  # an account with 12 roles: two pages of 7
        one.roles[f"Set{i}"] = 3600
        center.assign(center.user, "400000000000", f"Set{i}")
    found, _ = corp.sync(page=7)
    assert len({a.account_id: a for a in found.accounts}["400000000000"].roles) == 12


def test_at_most_ten_calls_in_any_second(corp, identity):  # noqa: F811
    for i in range(60):
        identity.center.add_account(f"{500000000000 + i}", f"acct-{i}", roles=ROLES[:1])
    corp.log_in()
    identity.fakes.portal.throttle.tps = 10  # the portal's own limit: never hit
    found, lister = corp.sync(page=100)
    calls = list(identity.fakes.portal.calls)
    assert len(found.accounts) == 63 and lister.throttled == 0
    assert windows(calls) <= 10 and all(c.status == 200 for c in calls)
    assert calls[-1].time - calls[0].time >= 6  # 64 calls at 10 a second


def test_throttling_is_backed_off_until_every_role_is_listed(corp, identity):  # noqa: F811
    for i in range(30):
        identity.center.add_account(f"{600000000000 + i}", f"acct-{i}", roles=ROLES)
    corp.log_in()
    portal = identity.fakes.portal
    portal.throttle.tps = 3  # a stricter portal than our 10 a second
    found, lister = corp.sync()
    assert found.role_count == 99 and lister.throttled > 0
    assert portal.calls.errors()["TooManyRequestsException"] == lister.throttled
    assert windows(portal.calls) <= 3
    portal.throttle.reset()
    portal.throttle.fail_next(100)  # a portal that never recovers: a message, not a hang
    with pytest.raises(Exception, match="still throttled") as exc:
        corp.sync()
    assert exc.value.exit_code == 1


def test_a_refused_token_mid_listing_means_logging_in_again(corp, identity):  # noqa: F811
    corp.log_in()
    identity.fakes.portal.fail_next("ListAccountRoles", ServiceError(
        "UnauthorizedException", "Session token not found or invalid", 401), times=10)
    with pytest.raises(LoginRequired, match="no longer logged in") as exc:
        corp.sync()
    assert exc.value.fix == "run `rolecall sso login corp`"
    assert not roster.read(roster.path())  # nothing half-listed is kept


def test_the_roster_is_private_and_holds_no_secret(corp, identity):  # noqa: F811
    issued = corp.log_in()
    corp.sync()
    path = roster.path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert issued.access_token not in text and "@example.com" not in text
    assert set(json.loads(text)["sessions"]) == {"corp"}


def test_discovered_roles_are_named_by_the_template_and_merged(corp, identity):  # noqa: F811
    corp.log_in()
    corp.sync()
    corp.world.catalog.write_text(
        '[accounts."111111111111"]\nalias = "production"\ntags = ["prod"]\n\n'
        '[roles."staging/ReadOnly"]\nregion = "eu-west-1"\n')
    inv = corp.inventory()
    names = {n for n, r in inv.roles.items() if r.sso_session == "corp"}
    assert names == {f"{alias}/{role}" for alias in ("production", "staging", "dev")
                     for role in ROLES}
    assert inv.account("111111111111").tags == ("prod",)  # the catalog's tags
    assert inv.account("333333333333").alias == "dev"  # the portal's name as alias
    assert inv.roles["staging/ReadOnly"].region == "eu-west-1"  # annotated by the catalog
    role = inv.roles["production/Billing"]
    assert (role.account_id, role.role_short_name) == ("111111111111", "Billing")
    assert not inv.broken
    corp.world.catalog.write_text('[settings]\nsso_name = "{account_id}-{role_name}"\n')
    assert "111111111111-Billing" in corp.inventory().roles


def test_sso_profiles_in_the_config_are_the_same_roles(corp, identity):  # noqa: F811
    corp.configure("[profile prod-admin]\nsso_session = corp\nsso_account_id = 111111111111\n"
                   "sso_role_name = AdministratorAccess\nregion = us-west-2\n\n"
                   "[profile prod]\nregion = us-east-1\n")  # a base profile named "prod"
    corp.log_in()
    corp.sync()
    inv = corp.inventory()
    assert "prod/AdministratorAccess" not in inv.roles  # that is prod-admin
    assert inv.roles["prod-admin"].region == "us-west-2"
    assert "prod-admin" in inv.bases  # still a source_profile for others
    assert len([r for r in inv.roles.values() if r.sso_session]) == 9


def test_names_that_collide_get_the_account_id(corp, identity):  # noqa: F811
    identity.center.add_account("444444444444", "prod", roles=("ReadOnly",))
    corp.log_in()
    corp.sync()
    inv = corp.inventory()
    assert {"prod/ReadOnly@111111111111", "prod/ReadOnly@444444444444"} <= set(inv.roles)
    assert "prod/ReadOnly" not in inv.roles and "prod/Billing" in inv.roles


def test_a_changed_start_url_or_an_unknown_session_lists_nothing(corp, identity):  # noqa: F811
    corp.log_in()
    corp.sync()
    corp.world.write_config("[sso-session corp]\nsso_start_url = https://other.awsapps.com/"
                            "start\nsso_region = us-east-1\n")
    inv = corp.inventory()
    assert not inv.roles and inv.sso_sessions["corp"].synced_at is None
    corp.world.write_config("[profile x]\nsso_session = nope\nsso_account_id = "
                            "111111111111\nsso_role_name = R\n")
    assert "not defined" in corp.inventory().broken["x"].message


def test_a_malformed_sso_session_is_a_clear_error(corp):  # noqa: F811
    from profiles.estate import sso

    corp.world.write_config("[sso-session corp]\nsso_start_url = https://x/start\n\n"
                            "[profile a]\nsso_session = corp\nsso_account_id = 111111111111\n"
                            "sso_role_name = R\n")
    inv = corp.inventory()
    assert "has no sso_region" in inv.broken["a"].message
    with pytest.raises(ConfigError, match="has no sso_region"):
        sso.resolve(inv, "corp")


HOSTILE = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30)


@settings(max_examples=min(EXAMPLES, 30), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(HOSTILE, min_size=1, max_size=4))
def test_hostile_account_names_never_become_structure(corp, identity, names):  # noqa: F811
    """Whatever the portal calls an account (line breaks, bidi controls, `a[/]b`,
    quotes), the names rolecall makes are printable, unique and load again."""
    from profiles.config.text import UNSAFE

    instance = identity.center.instance()
    instance.accounts.clear()
    instance.assignments.clear()
    for i, name in enumerate(names):
        identity.center.add_account(f"{700000000000 + i}", name, roles=("Admin",))
    corp.log_in()
    corp.sync()
    inv = corp.inventory()
    made = [n for n, r in inv.roles.items() if r.sso_session]
    assert len(made) == len(names) and not inv.broken
    for name in made:
        ends = ("/Admin", *(f"/Admin@{700000000000 + i}" for i in range(len(names))))
        assert not UNSAFE.search(name) and name.endswith(ends), name
    for account in inv.accounts.values():
        assert account.alias is None or not UNSAFE.search(account.alias)


def test_stale_listings(corp, identity):  # noqa: F811
    inv = corp.inventory()
    now = identity.clock()
    assert [s.name for s in discovery.stale(inv.sso_sessions, 43200, now)] == ["corp"]
    corp.log_in()
    corp.sync()
    inv = corp.inventory()
    assert discovery.stale(inv.sso_sessions, 43200, now + 43000) == []
    assert len(discovery.stale(inv.sso_sessions, 43200, now + 43300)) == 1
    assert discovery.stale(inv.sso_sessions, 0, now + 10**7) == []  # 0: never by itself


def test_the_limiter_paces_threads_and_pauses_them_all():
    clock = [0.0]
    limiter = Limiter(rate=3, period=1.0, clock=lambda: clock[0],
                      sleep=lambda s: clock.__setitem__(0, clock[0] + s))
    starts = []
    for i in range(7):
        with limiter.slot():
            starts.append(clock[0])
            clock[0] += 0.25 if i == 0 else 0  # a slow call: its slot is free 1 s after it ends
    assert starts == [0, 0.25, 0.25, 1.25, 1.25, 1.25, 2.25]
    limiter.pause(5)
    with limiter.slot():
        assert clock[0] == 7.25
