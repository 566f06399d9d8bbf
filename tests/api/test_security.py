"""Who may talk to the API: the token, the Origin of browser requests and websockets, the Host name, and the
refusal to serve beyond loopback without a token."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient, WebSocketDenialResponse
from typer.testing import CliRunner

from netcanvas.api.security import allowed_hosts, exposure_refusal
from netcanvas.cli import app as cli
from netcanvas.settings import Settings
from runhelpers import app_client, start_run, watch

TOKEN = "s3cret-token-for-the-tests-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def token_protocols(token: str) -> list[str]:
    """What the web app offers: the protocol it wants selected, then the token as base64url."""
    return ["netcanvas", "netcanvas.bearer." + base64.urlsafe_b64encode(token.encode()).decode().rstrip("=")]


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with app_client(tmp_path_factory.mktemp("data"), token=TOKEN) as client:
        yield client


@pytest.fixture(scope="module")
def finished_run(guarded: TestClient) -> str:
    """A run trained to the end on the server with a token."""
    guarded.headers.update(BEARER)
    try:
        run_id = start_run(guarded)
        watch(guarded, run_id)
    finally:
        del guarded.headers["Authorization"]
    return run_id


def test_without_a_token_setting_loopback_works_as_before(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        assert client.get("/api/catalog").status_code == 200
        run_id = start_run(client)
        assert watch(client, run_id)[-1]["status"] == "completed"


def test_with_a_token_api_requests_need_it(guarded: TestClient) -> None:
    missing = guarded.get("/api/runs")
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert "requires a token" in missing.json()["detail"] and "Authorization: Bearer" in missing.json()["detail"]
    wrong = guarded.get("/api/runs", headers={"Authorization": "Bearer not-the-token-at-all-000"})
    assert wrong.status_code == 401 and "wrong" in wrong.json()["detail"]
    assert guarded.get("/api/runs", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
    assert guarded.post("/api/graphs/validate", json={"nodes": []}).status_code == 401
    assert guarded.get("/api/runs", headers=BEARER).status_code == 200
    assert guarded.get("/api/catalog", headers={"Authorization": f"bearer {TOKEN}"}).status_code == 200


def test_the_app_and_health_stay_open_so_a_browser_can_ask_for_the_token(guarded: TestClient) -> None:
    assert guarded.get("/api/health").json()["status"] == "ok"
    assert guarded.get("/").status_code == 200
    assert guarded.get("/openapi.json").status_code == 200


def test_websocket_without_or_with_a_wrong_token_is_refused(guarded: TestClient, finished_run: str) -> None:
    path = f"/api/runs/{finished_run}/events"
    with pytest.raises(WebSocketDenialResponse) as missing:
        guarded.websocket_connect(path).__enter__()
    assert missing.value.status_code == 401 and "requires a token" in missing.value.json()["detail"]
    with pytest.raises(WebSocketDenialResponse) as wrong:
        guarded.websocket_connect(path, subprotocols=token_protocols("x" * 20)).__enter__()
    assert wrong.value.status_code == 401 and "wrong" in wrong.value.json()["detail"]
    with pytest.raises(WebSocketDenialResponse) as garbled:
        guarded.websocket_connect(path, subprotocols=["netcanvas", "netcanvas.bearer.@@@"]).__enter__()
    assert garbled.value.status_code == 401


def test_websocket_with_the_token_as_a_header_or_a_subprotocol_streams_the_run(guarded: TestClient,
                                                                                finished_run: str) -> None:
    path = f"/api/runs/{finished_run}/events"
    with guarded.websocket_connect(path, headers=dict(BEARER)) as ws:
        assert ws.receive_json()["seq"] == 1
    with guarded.websocket_connect(path, subprotocols=token_protocols(TOKEN)) as ws:
        assert ws.accepted_subprotocol == "netcanvas"  # browsers fail a handshake that selects none
        events = []
        while not events or events[-1]["type"] != "done":
            events.append(ws.receive_json())
    assert events[0]["seq"] == 1 and events[-1]["status"] == "completed"


def test_a_foreign_origin_is_refused_on_the_websocket_and_on_http(guarded: TestClient, finished_run: str) -> None:
    path = f"/api/runs/{finished_run}/events"
    with pytest.raises(WebSocketDenialResponse) as refused:
        guarded.websocket_connect(path, headers={**BEARER, "Origin": "https://evil.example"}).__enter__()
    assert refused.value.status_code == 403
    assert "the origin 'https://evil.example' are not allowed" in refused.value.json()["detail"]
    assert "NETCANVAS_ALLOWED_ORIGINS" in refused.value.json()["detail"]
    # a page elsewhere posting a form (a "simple" request, no preflight) to start a run
    posted = guarded.post("/api/runs", content=b"{}", headers={"Origin": "http://evil.example",
                                                                "Content-Type": "text/plain", **BEARER})
    assert posted.status_code == 403
    assert guarded.get("/api/runs", headers={"Origin": "null", **BEARER}).status_code == 403


def test_the_servers_own_origin_is_accepted(guarded: TestClient, finished_run: str) -> None:
    path = f"/api/runs/{finished_run}/events"
    with guarded.websocket_connect(path, headers={**BEARER, "Origin": "http://testserver"}) as ws:
        assert ws.receive_json()["seq"] == 1
    assert guarded.get("/api/runs", headers={"Origin": "http://testserver", **BEARER}).status_code == 200


def test_an_origin_listed_in_the_settings_is_accepted_and_no_other(tmp_path: Path) -> None:
    with app_client(tmp_path, allowed_origins="https://netcanvas.example.com/") as client:
        assert client.get("/api/runs", headers={"Origin": "https://netcanvas.example.com"}).status_code == 200
        assert client.get("/api/runs", headers={"Origin": "http://netcanvas.example.com"}).status_code == 403
        run_id = start_run(client)
        with client.websocket_connect(f"/api/runs/{run_id}/events",
                                      headers={"Origin": "https://netcanvas.example.com"}) as ws:
            assert ws.receive_json()["seq"] == 1
        with pytest.raises(WebSocketDenialResponse) as refused:
            client.websocket_connect(f"/api/runs/{run_id}/events",
                                     headers={"Origin": "https://evil.example"}).__enter__()
        assert refused.value.status_code == 403


def test_a_host_that_is_not_allowed_is_refused_http_and_websocket(guarded: TestClient, finished_run: str) -> None:
    rebound = {"Host": "attacker.example", **BEARER}
    for path in ("/api/runs", "/api/health", "/"):
        answer = guarded.get(path, headers=rebound)
        assert answer.status_code == 400 and answer.text == "Invalid host header"
    with pytest.raises(WebSocketDenialResponse) as refused:
        guarded.websocket_connect(f"/api/runs/{finished_run}/events", headers=rebound).__enter__()
    assert refused.value.status_code == 400
    for name in ("localhost:8000", "127.0.0.1", "[::1]:8000"):
        assert guarded.get("/api/health", headers={"Host": name}).status_code == 200


def test_the_default_hosts_are_loopback_plus_a_specific_bind_address() -> None:
    assert allowed_hosts(Settings(host="0.0.0.0", allowed_hosts=[])) == ["localhost", "127.0.0.1", "[::1]"]
    assert allowed_hosts(Settings(host="::1", allowed_hosts=[])) == ["localhost", "127.0.0.1", "[::1]"]
    assert allowed_hosts(Settings(host="192.168.1.5", allowed_hosts=[]))[-1] == "192.168.1.5"
    assert allowed_hosts(Settings(host="fe80::1", allowed_hosts=[]))[-1] == "[fe80::1]"
    assert allowed_hosts(Settings(host="::", allowed_hosts="NetCanvas.example.com, *.lan"))[-2:] == [
        "netcanvas.example.com", "*.lan"]


def test_without_testserver_in_the_settings_the_test_client_itself_is_refused(tmp_path: Path) -> None:
    with app_client(tmp_path, allowed_hosts=[]) as client:
        assert client.get("/api/health").status_code == 400


def test_bad_host_origin_and_token_settings_are_refused() -> None:
    for setting in ({"allowed_hosts": "exa*mple.com"}, {"allowed_hosts": "*example.com"},
                    {"allowed_origins": "evil.example"}, {"allowed_origins": "https://x.example/path"},
                    {"token": "short"}, {"token": "has a space in it, sixteen+"}):
        with pytest.raises(ValueError):
            Settings(**setting)  # type: ignore[arg-type]
    assert Settings(token="").token is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.5", "example.com", ""])
def test_serving_beyond_loopback_without_a_token_is_refused(host: str) -> None:
    refusal = exposure_refusal(Settings(host=host, token=None, insecure=False))
    assert refusal is not None and refusal.startswith("refusing to serve on")
    assert "NETCANVAS_TOKEN" in refusal and "NETCANVAS_INSECURE=1" in refusal
    assert exposure_refusal(Settings(host=host, token=None, insecure=True)) is None
    assert exposure_refusal(Settings(host=host, token=TOKEN)) is None


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "localhost", "LOCALHOST", "::1", "[::1]"])
def test_serving_on_loopback_needs_no_token(host: str) -> None:
    assert exposure_refusal(Settings(host=host, token=None, insecure=False)) is None


def test_serve_refuses_0000_without_a_token_with_one_line_and_status_2(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    def must_not_start(*args: object, **kwargs: object) -> None:
        raise AssertionError("the server started")

    monkeypatch.setattr(uvicorn, "run", must_not_start)
    for name in ("NETCANVAS_TOKEN", "NETCANVAS_INSECURE", "NETCANVAS_HOST"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: refusing to serve on 0.0.0.0 without a token")
    assert "Traceback" not in result.output

    monkeypatch.setenv("NETCANVAS_TOKEN", "short")
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert result.output.strip() == (
        "error: NETCANVAS_TOKEN: must be at least 16 printable ASCII characters without spaces "
        "(make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))')")



def test_the_openapi_document_declares_the_token_and_its_answers(guarded: TestClient) -> None:
    doc = guarded.get("/openapi.json").json()
    assert doc["components"]["securitySchemes"]["bearer"] == {**doc["components"]["securitySchemes"]["bearer"],
                                                              "type": "http", "scheme": "bearer"}
    runs = doc["paths"]["/api/runs"]["post"]
    assert runs["security"] == [{}, {"bearer": []}]  # optional: a loopback server without a token needs none
    assert {"401", "403"} <= set(runs["responses"])
    assert "security" not in doc["paths"]["/api/health"]["get"]  # health stays open
    wrong = guarded.post("/api/runs", json={}, headers={"Authorization": "Bearer not-the-token-at-all"})
    assert wrong.status_code == 401 and "detail" in wrong.json()  # the answer the document describes
