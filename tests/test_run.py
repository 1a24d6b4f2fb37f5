"""``rolecall run`` end to end (see docs/architecture.md, Run across accounts): the real CLI in a
subprocess against moto over
HTTP, the real Secret Service, real child processes. Each child proves its identity
with ``aws sts get-caller-identity`` from inside it."""

from __future__ import annotations

import json

from tests.helpers import assert_fails
from tests.run_world import ACCOUNTS, DEPLOY, REPORT, aws_cli, estate, py, reports


def test_each_child_runs_as_its_own_role_with_only_its_environment(world):
    arns = estate(world)
    proc = world.run("run", "*-deploy", "--", *py(REPORT), aws_cli(),
                     env={"AWS_PROFILE": "base"})
    assert proc.returncode == 0, proc.stderr
    seen = reports(proc.stdout)
    assert sorted(seen) == sorted(DEPLOY)  # the stream comes as the children write
    for role in DEPLOY:
        account = arns[role].split(":")[4]
        report = seen[role]
        assert report["arn"].startswith(f"arn:aws:sts::{account}:assumed-role/Deploy/")
        assert report["account_id"] == account
        assert report["role"] == role
        assert report["profile"] is None  # AWS_PROFILE removed, as exec does
        assert report["stdin"] == ""  # stdin is /dev/null
    assert seen["prod-deploy"]["alias"] == "prod" and seen["sandbox-deploy"]["alias"] == ""
    assert len({r["key"] for r in seen.values()}) == 4  # each its own credentials
    summary = proc.stdout[proc.stdout.index("ROLE "):].splitlines()
    assert [line.split()[0] for line in summary[1:]] == DEPLOY
    assert all(" ok " in line for line in summary[1:])


def test_selection_by_tag_account_and_name_is_a_union_in_board_order(world):
    estate(world)
    proc = world.run("run", "--json", "--tag", "prod", "--account",
                     ACCOUNTS["sandbox"], "dev-read", "prod-deploy", "--", "true")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert [r["role"] for r in data["results"]] == [
        "dev-read", "prod-deploy", "prodeu-deploy", "sandbox-deploy"]
    proc = world.run("run", "--json", "--account", "dev", "--", "true")
    assert [r["role"] for r in json.loads(proc.stdout)["results"]] == ["dev-deploy", "dev-read"]


def test_no_target_matched_is_exit_2_and_nothing_runs(world):
    estate(world)
    marker = world.home / "ran"
    command = ["--", *py(f"open({str(marker)!r}, 'w')")]
    assert_fails(world.run("run", "*-nothing", *command), 2, "no role matches '*-nothing'")
    assert_fails(world.run("run", "--tag", "staging", *command), 2, "tagged 'staging'",
                 "tags in the catalog: dev, eu, prod")
    assert_fails(world.run("run", "--account", "999999999999", *command), 2)
    assert_fails(world.run("run", "nope", *command), 2, "unknown role 'nope'")
    assert_fails(world.run("run", *command), 2, "no targets given")
    assert not marker.exists()


def test_cwd_templates_set_each_directory_and_are_checked_before_anything_runs(world):
    estate(world)
    for account in ACCOUNTS.values():
        (world.home / "accounts" / account).mkdir(parents=True)
    (world.home / "by-alias" / "prod").mkdir(parents=True)
    proc = world.run("run", "--tag", "prod", "sandbox-deploy", "--cwd", "accounts/{account_id}",
                     "--", *py(REPORT))
    assert proc.returncode == 0, proc.stderr
    seen = reports(proc.stdout)
    for role, account in (("prod-deploy", "prod"), ("prodeu-deploy", "prod-eu"),
                          ("sandbox-deploy", "sandbox")):
        assert seen[role]["cwd"] == str(world.home / "accounts" / ACCOUNTS[account])
    marker = ["--", *py(f"open({str(world.home / 'ran')!r}, 'w')")]
    # prod-eu has no directory under by-alias: nothing runs, not even prod's
    assert_fails(world.run("run", "--tag", "prod", "--cwd", "by-alias/{account_alias}", *marker),
                 2, "no such directory", "by-alias/prod-eu (prodeu-deploy)")
    assert_fails(world.run("run", "sandbox-deploy", "--cwd", "{account_alias}", *marker), 2,
                 "account 444444444444 of sandbox-deploy has no alias")
    assert_fails(world.run("run", "dev-deploy", "--cwd", "{region}", *marker), 2,
                 "unknown field {region}")
    assert not (world.home / "ran").exists()


def test_a_hostile_alias_cannot_move_a_cwd_outside_its_template(world):
    estate(world)
    world.catalog.write_text(world.catalog.read_text().replace('alias = "dev"', 'alias = ".."'))
    (world.home / "accounts").mkdir()
    assert_fails(world.run("run", "dev-deploy", "--cwd", "accounts/{account_alias}", "--",
                           "true"), 2, "is not a plain directory name")


def test_bad_options_and_commands_are_refused_before_anything_runs(world):
    estate(world)
    assert_fails(world.run("run", "dev-deploy"), 2, "no command given")
    assert_fails(world.run("run", "dev-deploy", "--", "no-such-command-xyz"), 2,
                 "'no-such-command-xyz' not found on PATH")
    assert_fails(world.run("run", "dev-deploy", "--", "./deploy.sh"), 2,
                 "not an executable file")
    assert_fails(world.run("run", "dev-deploy", "--parallel", "0", "--", "true"), 2,
                 "--parallel must be a whole number of 1 or more")
    assert_fails(world.run("run", "dev-deploy", "--timeout", "soon", "--", "true"), 2,
                 "invalid --timeout 'soon'")
    assert_fails(world.run("run", "dev-deploy", "--duration", "13h", "--", "true"), 2,
                 "outside 15m to 12h")
    assert_fails(world.run("run", "dev-deploy", "--session-name", "{nope}", "--", "true"), 2,
                 "unknown field {nope}")
    assert_fails(world.run("run", "dev-deploy", "--output", "loud", "--", "true"), 2)
    assert not list(world.state.glob("journal.jsonl"))  # no STS call was made


def test_a_broken_role_matched_by_a_glob_is_exit_2(world):
    estate(world)
    world.write_config(world.config.read_text() + "[profile dev-broken]\nrole_arn = "
                       "arn:aws:iam::111111111111:role/X\nsource_profile = nowhere\n")
    assert_fails(world.run("run", "dev-*", "--", "true"), 2, "dev-broken", "nowhere")


def test_the_cache_comes_first_and_the_session_name_template_names_the_commit(world):
    import subprocess

    estate(world)
    git = ["git", "-C", str(world.home), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    sha = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True, check=True).stdout.strip()
    first = json.loads(world.run("run", "--tag", "prod", "--session-name", "deploy-{git_sha}",
                                 "--json", "--", "true").stdout)
    assert {r["session_name"] for r in first["results"]} == {f"deploy-{sha}"}
    assert all(r["assumed_role_arn"].endswith(f"/deploy-{sha}") for r in first["results"])
    again = json.loads(world.run("run", "--tag", "prod", "--session-name", "deploy-{git_sha}",
                                 "--json", "--", "true").stdout)
    assert again["results"] == [dict(r, seconds=s["seconds"], output="") for r, s in
                                zip(first["results"], again["results"], strict=True)]
    from profiles.ops import journal

    calls = journal.entries(world.state)
    assert [c.action for c in calls] == ["AssumeRole", "AssumeRole"]  # none the second time
    assert {c.via for c in calls} == {"run"}
    assert {c.session_name for c in calls} == {f"deploy-{sha}"}


def test_an_assume_failure_for_one_target_does_not_stop_the_others(world):
    estate(world)
    world.write_config(world.config.read_text()
                       + "[profile broken-base]\ncredential_process = sh -c 'exit 3'\n\n"
                       "[profile dev-other]\nrole_arn = arn:aws:iam::111111111111:role/Deploy\n"
                       "source_profile = broken-base\n")
    proc = world.run("run", "dev-*", "prod-deploy", "--json", "--", *py("print('done')"))
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    status = {r["role"]: r["status"] for r in data["results"]}
    assert status == {"dev-deploy": "ok", "dev-other": "assume failed", "dev-read": "ok",
                      "prod-deploy": "ok"}
    failed = next(r for r in data["results"] if r["role"] == "dev-other")
    assert "broken-base" in failed["error"] and failed["exit_code"] is None
    assert failed["session_name"] is None and failed["output"] == ""
    assert (data["ok"], data["failed"]) == (3, 1)
    # with --json the stream goes to stderr, then the report
    err = proc.stderr.splitlines()
    assert sorted(line for line in err if line.startswith("[")) == [
        f"[{role}] done" for role in ("dev-deploy", "dev-read", "prod-deploy")]
    report = err[err.index("rolecall: 1 of 4 targets did not succeed: 1 assume failed"):]
    assert report[1].startswith("  dev-other: assume failed: ") and "broken-base" in report[1]


def test_targets_sharing_a_parent_hop_assume_it_once(world):
    from profiles.ops import journal

    estate(world)
    hub = world.moto.create_role(ACCOUNTS["dev"], "Hub")
    spokes = {f"spoke-{i}": world.moto.create_role(account, "Spoke")
              for i, account in enumerate(ACCOUNTS.values())}
    world.write_config(world.config.read_text()
                       + f"[profile hub]\nrole_arn = {hub}\nsource_profile = base\n\n" + "".join(
                           f"[profile {name}]\nrole_arn = {arn}\nsource_profile = hub\n\n"
                           for name, arn in spokes.items()))
    proc = world.run("run", "spoke-*", "--parallel", "4", "--json", "--", "true")
    assert proc.returncode == 0, proc.stderr
    assert [r["status"] for r in json.loads(proc.stdout)["results"]] == ["ok"] * 4
    calls = [c.role for c in journal.entries(world.state)]
    assert sorted(calls) == ["hub", *sorted(spokes)]  # four workers, the hub once


def test_secrets_reach_only_the_children(world):
    estate(world)
    out = world.home / "secrets"
    out.mkdir()
    code = ("import os, pathlib\nenv = os.environ\npathlib.Path(os.environ['HOME'], 'secrets', "
            "env['ROLECALL_ROLE']).write_text(env['AWS_SECRET_ACCESS_KEY'] + '\\n' + "
            "env['AWS_SESSION_TOKEN'])")
    proc = world.run("run", *DEPLOY, "--json", "--", *py(code))
    assert proc.returncode == 0, proc.stderr
    secrets = [s for path in out.iterdir() for s in path.read_text().split("\n")]
    assert len(secrets) == 8 and all(len(s) > 16 for s in secrets)
    files = [p for p in [*world.state.rglob("*"), *world.aws.rglob("*")] if p.is_file()]
    assert any(p.name.startswith("journal") for p in files)  # the journal was written
    for secret in secrets:
        assert secret not in proc.stdout and secret not in proc.stderr
        assert not any(secret.encode() in p.read_bytes() for p in files)
