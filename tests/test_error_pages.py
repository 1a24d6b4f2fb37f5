"""An endpoint that answers an error with a web page (a proxy, a load balancer, a server
that failed) is one ``rolecall:`` line naming its HTTP status: never the page, never a
traceback, never a fix that blames the session. STS, CloudTrail and the console's
federation endpoint are each pointed at a loopback server that answers every request
with an HTML page."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.helpers import assert_fails, chain_config

PAGE = (b"<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n"
        b"<h1>Internal Server Error</h1>\n<p>The server encountered an internal error.</p>\n")


class Pages(BaseHTTPRequestHandler):
    status = 500

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(self.status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    do_GET = do_POST = _answer  # noqa: N815


def serve(status: int) -> Iterator[str]:
    handler = type("Pages", (Pages,), {"status": status})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def page_500() -> Iterator[str]:
    yield from serve(500)


@pytest.fixture
def page_404() -> Iterator[str]:
    yield from serve(404)


def no_page(err: str) -> None:
    assert "<" not in err and "doctype" not in err.lower(), err


def test_cloudtrail_answering_a_page_is_one_line(world, page_500):
    chain_config(world)
    world.env["AWS_ENDPOINT_URL_CLOUDTRAIL"] = page_500
    err = assert_fails(world.run("audit", "--cloudtrail", "--role", "hop1"), 1,
                       "CloudTrail LookupEvents", "500: Internal Server Error")
    no_page(err)


def test_sts_answering_a_page_is_one_line(world, page_500):
    chain_config(world)
    world.env["AWS_ENDPOINT_URL_STS"] = page_500
    err = assert_fails(world.run("assume", "hop1"), 1, "AssumeRole", "500")
    no_page(err)


def test_the_federation_endpoint_failing_does_not_blame_the_session(world, page_500):
    chain_config(world)
    world.env["ROLECALL_FEDERATION_URL"] = f"{page_500}/federation"
    err = assert_fails(world.run("console", "hop1", "--print"), 1, "failed (HTTP 500)",
                       "try again")
    assert "expired" not in err
    no_page(err)


def test_a_page_that_is_no_federation_endpoint_says_so(world, page_404):
    chain_config(world)
    world.env["ROLECALL_FEDERATION_URL"] = f"{page_404}/nowhere"
    err = assert_fails(world.run("console", "hop1", "--print"), 1, "HTTP 404",
                       "not a sign-in federation endpoint", "ROLECALL_FEDERATION_URL")
    no_page(err)
