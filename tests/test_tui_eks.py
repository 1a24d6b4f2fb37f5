"""The board and the catalog's EKS clusters: the detail pane lists them; the command
palette offers "kubeconfig: ROLE CLUSTER" for a role with a live session, and running it
writes the entry as ``rolecall eks kubeconfig`` does."""

from __future__ import annotations

import time

import yaml

from tests.tui_world import CATALOG, Clock, organisation, until, workspace
from tui.board.app import RolecallApp
from tui.board.palette import RoleCommands

SIZE = (160, 40)


async def test_the_palette_writes_a_clusters_kubeconfig(world, monkeypatch):
    organisation(world)
    world.catalog.write_text(CATALOG + '\n[roles.prod-deploy]\neks_clusters = ["prod", '
                             '"analytics@eu-west-1"]\n\n[roles.prod-admin]\n'
                             'eks_clusters = ["prod"]\n')
    made = world.moto.client("eks", "222222222222").create_cluster(
        name="prod", roleArn="arn:aws:iam::222222222222:role/eks",
        resourcesVpcConfig={})["cluster"]
    kubeconfig = world.home / "kube" / "config"
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    clock = Clock(time.time())
    ws = workspace(clock)
    ws.assume("prod-deploy")
    app = RolecallApp(clock=clock, workspace=ws, auto_renew=False, ticking=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.board_screen
        await screen.loaded()
        screen.board.select("prod-deploy")
        screen.show_detail()
        await pilot.pause()
        pane = " ".join(screen.query_one("#detail").plain.split())
        assert "eks prod, analytics@eu-west-1" in pane
        provider = RoleCommands(app.screen)
        hits = {str(h.prompt): h async for h in provider.search("kubeconfig")}
        assert set(hits) == {"kubeconfig: prod-deploy prod",
                             "kubeconfig: prod-deploy analytics"}  # prod-admin: no session
        found = [h async for h in provider.discover()]
        assert "kubeconfig: prod-deploy prod" in {str(h.prompt) for h in found}
        hits["kubeconfig: prod-deploy prod"].command()
        await until(pilot, lambda: any("context prod-deploy@prod" in str(n.message)
                                       for n in app._notifications))
    data = yaml.safe_load(kubeconfig.read_text())
    assert data["current-context"] == "prod-deploy@prod"
    assert [c["cluster"]["server"] for c in data["clusters"]] == [made["endpoint"]]
    assert data["users"][0]["user"]["exec"]["args"] == ["eks", "token", "prod-deploy",
                                                        "--cluster", "prod"]
