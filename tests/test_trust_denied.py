"""An AccessDenied from assume, env or exec names ``rolecall doctor ROLE`` in its fix,
through a loopback STS that denies as real STS does (moto enforces no trust)."""

from __future__ import annotations

from tests.fake_sts import StsHandler, serve, sts_error
from tests.helpers import assert_fails


class DenyingSts:
    """An STS on loopback that denies every AssumeRole, as real STS words it."""

    def __init__(self) -> None:
        class Handler(StsHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.read_form()
                self.send(403, sts_error("AccessDenied", "User: arn:aws:iam::000000000000:"
                                         "user/me is not authorized to perform: "
                                         "sts:AssumeRole"))

        self.server, self.url = serve(Handler)

    def stop(self) -> None:
        self.server.shutdown()


def test_access_denied_names_rolecall_doctor(world):
    sts = DenyingSts()
    try:
        world.write_credentials("[base]\naws_access_key_id = AKIAEXAMPLE\n"
                                "aws_secret_access_key = secret\n")
        world.write_config("[profile base]\nregion = us-east-1\n")
        world.catalog.write_text('[roles."prod deploy"]\nsource = "base"\n'
                                 'role_arn = "arn:aws:iam::222222222222:role/Deploy"\n')
        env = {"AWS_ENDPOINT_URL_STS": sts.url}
        for command in (["assume", "prod deploy"], ["env", "prod deploy"],
                        ["exec", "prod deploy", "--", "true"]):
            err = assert_fails(world.run(*command, env=env), 1, "denied")
            assert "fix: both sides must allow it" in err
            assert "`rolecall doctor 'prod deploy'` checks both" in err
    finally:
        sts.stop()
