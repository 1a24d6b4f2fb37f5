"""``rolecall lint``: a corpus of real and classic trust policies with known findings,
and the command's contract (JSON shape, --fail-on, --min-duration, --role, bad input)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from profiles.trust import lint
from profiles.trust.source import read_policy_file
from tests.helpers import assert_fails

CORPUS = Path(__file__).parent / "trust_corpus"
EXPECTED = tomllib.loads((CORPUS / "expected.toml").read_text())
OURS = {"111111111111", "222222222222", "333333333333"}
CATALOG = "".join(f'[accounts."{a}"]\nalias = "a{a[0]}"\n' for a in sorted(OURS))


def test_the_corpus_is_large_and_every_file_is_listed():
    assert len(EXPECTED) >= 30
    assert {p.name for p in CORPUS.glob("*.json")} == set(EXPECTED)
    seed = [name for name in EXPECTED if name.startswith("seed-")]
    assert len(seed) == 5
    assert sum("/" in entry["source"] for entry in EXPECTED.values()) >= 8  # from public repos


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus(name):
    source = read_policy_file(CORPUS / name)
    findings = lint.lint(source.policy, name, known_accounts=OURS)
    got = sorted(f"{f.id}@{f.statement}" for f in findings)
    assert got == sorted(EXPECTED[name]["findings"]), [f.detail for f in findings]
    for finding in findings:
        assert finding.level == dict(LEVELS)[finding.id]
        assert finding.fix and "\n" not in finding.detail + finding.fix


LEVELS = [("RC101", "critical"), ("RC102", "warn"), ("RC103", "warn"), ("RC104", "high"),
          ("RC105", "warn"), ("RC106", "warn"), ("RC107", "warn"), ("RC108", "warn"),
          ("RC109", "info"), ("RC110", "high")]


def test_fixes_speak_the_seeds_words():
    def fix(name: str, rule: str) -> str:
        source = read_policy_file(CORPUS / name)
        return next(f.fix for f in lint.lint(source.policy, name, known_accounts=OURS)
                    if f.id == rule)

    assert "specific role ARN" in fix("seed-account-root.json", "RC102")
    assert "aws:PrincipalOrgID" in fix("open-aws-star.json", "RC101")
    assert "ExternalId unique to each of its customers" in fix(
        "seed-third-party-no-external-id.json", "RC104")
    assert "repo:ORG/REPO" in fix("github-oidc-repo-star.json", "RC110")


def test_every_rule_is_in_the_corpus():
    seen = {f.split("@")[0] for e in EXPECTED.values() for f in e["findings"]}
    assert seen | {"RC108"} == {rule for rule, _ in LEVELS}  # RC108 needs --min-duration


def run(world, *args: str, input: str | None = None):
    world.catalog.write_text(CATALOG)
    return world.run("lint", *args, input=input)


def test_json_shape_and_exit_status(offline_world):
    seed = str(CORPUS / "seed-third-party-no-external-id.json")
    proc = run(offline_world, seed, "--json")
    assert proc.returncode == 1, proc.stderr  # RC104 is high: at the default --fail-on
    data = json.loads(proc.stdout)
    assert set(data) == {"findings"}
    assert [(f["id"], f["level"], f["statement"], f["source"]) for f in data["findings"]] == [
        ("RC102", "warn", 0, seed), ("RC104", "high", 0, seed)]
    assert all(set(f) == {"id", "level", "source", "statement", "detail", "fix"}
               for f in data["findings"])
    assert run(offline_world, seed, "--fail-on", "critical").returncode == 0
    assert run(offline_world, seed, "--fail-on", "warn").returncode == 1
    root = str(CORPUS / "seed-account-root.json")
    assert run(offline_world, root).returncode == 0  # warn only, below high
    assert run(offline_world, root, "--fail-on", "info").returncode == 1
    quiet = run(offline_world, str(CORPUS / "seed-role-arn.json"))
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")  # silent
    empty = run(offline_world, str(CORPUS / "seed-org-wide.json"), "--json")
    assert json.loads(empty.stdout) == {"findings": []}


def test_plain_output(offline_world):
    proc = run(offline_world, str(CORPUS / "multi-statement.json"))
    lines = proc.stdout.splitlines()
    assert lines[0].endswith("multi-statement.json: statement 1: warn RC102: account root "
                             "principal arn:aws:iam::999999999999:root: any identity in "
                             "999999999999 with sts:AssumeRole can assume (looser than a "
                             "role ARN)")
    assert lines[1] == "  fix: trust a specific role ARN instead " \
                       "(arn:aws:iam::999999999999:role/NAME)"
    assert [line.split(": ")[2] for line in lines[::2]] == [
        "warn RC102", "high RC104", "critical RC101"]
    assert proc.returncode == 1


def test_unknown_accounts_come_from_config_and_catalog(offline_world):
    vendor = str(CORPUS / "seed-third-party-no-external-id.json")
    assert "RC104" in run(offline_world, vendor).stdout
    offline_world.write_config("[profile v]\nrole_arn = arn:aws:iam::999999999999:role/R\n"
                               "source_profile = base\n[profile base]\n")
    assert "RC104" not in run(offline_world, vendor).stdout  # the config names it: ours


def test_min_duration_with_get_role_output(offline_world, tmp_path):
    policy = json.loads((CORPUS / "seed-role-arn.json").read_text())
    role = tmp_path / "get-role.json"
    role.write_text(json.dumps({"Role": {"RoleName": "Deploy", "MaxSessionDuration": 3600,
                                         "AssumeRolePolicyDocument": policy}}))
    proc = run(offline_world, str(role), "--min-duration", "90m", "--json")
    assert proc.returncode == 0  # warn, below the default --fail-on
    [finding] = json.loads(proc.stdout)["findings"]
    assert (finding["id"], finding["statement"]) == ("RC108", None)
    assert "1h is below 1h30m" in finding["detail"] and "5400" in finding["fix"]
    assert run(offline_world, str(role), "--min-duration", "1h").stdout == ""
    stdin = run(offline_world, "-", "--min-duration", "2h", "--json", input=role.read_text())
    assert json.loads(stdin.stdout)["findings"][0]["source"] == "-"


def test_bad_input_exits_2(offline_world, tmp_path):
    (tmp_path / "bad.json").write_text("{")
    (tmp_path / "list.json").write_text("[1]")
    (tmp_path / "noprincipal.json").write_text(json.dumps(
        {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}))
    good = str(CORPUS / "open-star.json")
    assert_fails(run(offline_world, str(tmp_path / "bad.json")), 2, "bad.json: not JSON")
    assert_fails(run(offline_world, str(tmp_path / "list.json")), 2, "not a policy")
    assert_fails(run(offline_world, str(tmp_path / "noprincipal.json")), 2,
                 "statement 0 needs exactly one of Principal and NotPrincipal")
    assert_fails(run(offline_world, good, str(tmp_path)), 2, "not a regular file")
    assert_fails(run(offline_world, str(tmp_path / "missing.json")), 2, "no such file")
    assert_fails(run(offline_world), 2, "nothing to lint")
    assert_fails(run(offline_world, good, "--fail-on", "severe"), 2, "invalid choice")
    assert_fails(run(offline_world, good, "--min-duration", "soon"), 2, "--min-duration")
    assert_fails(run(offline_world, "--role", "nosuch"), 2, "unknown role")
    (tmp_path / "bad\nname.json").write_text("{")
    err = assert_fails(run(offline_world, str(tmp_path / "bad\nname.json")), 2)
    assert "bad\\nname.json" in err  # a line break in a name stays on one line


def test_fifo_is_refused_without_blocking(offline_world, tmp_path):
    import os

    fifo = tmp_path / "policy.json"
    os.mkfifo(fifo)
    assert_fails(run(offline_world, str(fifo)), 2, "not a regular file")


def test_role_reads_the_live_trust_policy(world):
    from tests.test_trust_doctor import Estate, _account, _doc, trusts

    estate = Estate(world)
    b = _account()
    estate.role("vendor", b, "Vendor", _doc(trusts("arn:aws:iam::999999999999:root")),
                max_session=3600)
    estate.reader(b)
    world.catalog.write_text("")
    proc = world.run("lint", "--role", "vendor", "--min-duration", "90m", "--json")
    found = {(f["id"], f["source"]) for f in json.loads(proc.stdout)["findings"]}
    assert found == {("RC102", "vendor"), ("RC104", "vendor"), ("RC108", "vendor")}
    assert proc.returncode == 1
    estate.role("lonely", _account(), "Lonely", _doc(trusts(estate.user_arn)))
    assert_fails(world.run("lint", "--role", "lonely"), 1, "cannot read the trust policy")


def test_hostile_text_stays_inert(offline_world, tmp_path):
    hostile = tmp_path / "hostile.json"
    hostile.write_text(json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "a[/]b\n", "Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"AWS": "arn:aws:iam::999999999999:user/x\u001b[2Jy\u2028z"}}]}))
    proc = run(offline_world, str(hostile))
    assert "\x1b" not in proc.stdout and "\u2028" not in proc.stdout
    assert "user/x\\x1b[2Jy\\u2028z" in proc.stdout
    assert all(line.startswith((str(hostile), "  fix: ")) for line in proc.stdout.splitlines())
