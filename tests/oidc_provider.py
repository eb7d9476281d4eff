"""A real OpenID Connect provider for the tests: `oidc-provider-mock` (authlib on Flask) served over
HTTP from a thread, with what the mock lacks and a test needs:

- PKCE enforced: a token request must carry the `code_verifier` whose S256 hash the authorization
  request sent as `code_challenge`, or it gets `invalid_grant` (the mock itself ignores PKCE);
- a record of the authorization and token requests it received;
- `tamper_next_token`: the next token response passes through a function, so a test can hand the
  portal an ID token the provider signed with its real key but for another audience, expired, or
  from another issuer;
- `sign(claims)`: a JWT signed with the provider's key (exposed on a test-only route);
- `announce_issuer`: a discovery document naming another issuer.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlparse

import flask
import oidc_provider_mock
import requests
import werkzeug.serving
from authlib.jose import jwt as authlib_jwt

# authlib refuses plain http unless told otherwise; the provider runs on localhost only.
os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")


class TestProvider:
    def __init__(self, app: flask.Flask):
        self.app = app
        self.url = ""
        self.authorize_requests: list[dict[str, str]] = []
        self.token_requests: list[dict[str, str]] = []
        self.tamper_next_token: Callable[[dict], dict] | None = None
        self.announce_issuer: str | None = None
        self._challenges: dict[str, tuple[str, str]] = {}
        self._lock = threading.Lock()
        inner = app.wsgi_app
        app.wsgi_app = lambda environ, start_response: self._wsgi(inner, environ, start_response)

    def set_user(self, sub: str, claims: dict) -> None:
        requests.put(f"{self.url}/users/{sub}", json=claims, timeout=5).raise_for_status()

    def sign(self, claims: dict) -> str:
        response = requests.post(f"{self.url}/test/sign", json=claims, timeout=5)
        response.raise_for_status()
        return response.text

    def _wsgi(self, inner, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/.well-known/openid-configuration" and self.announce_issuer:
            captured = {}

            def capture_status(status, headers, exc_info=None):
                captured["status"] = status
                return lambda data: None

            document = json.loads(b"".join(inner(environ, capture_status)))
            return self._json(start_response, captured["status"], {**document, "issuer": self.announce_issuer})
        if path == "/oauth2/authorize" and environ["REQUEST_METHOD"] == "POST":
            query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
            self.authorize_requests.append(query)

            def remember_code(status, headers, exc_info=None):
                location = dict(headers).get("Location", "")
                code = parse_qs(urlparse(location).query).get("code", [None])[0]
                if code:
                    with self._lock:
                        self._challenges[code] = (
                            query.get("code_challenge", ""),
                            query.get("code_challenge_method", ""),
                        )
                return start_response(status, headers, exc_info)

            return inner(environ, remember_code)
        if path == "/oauth2/token" and environ["REQUEST_METHOD"] == "POST":
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
            self.token_requests.append(form)
            if form.get("grant_type") == "authorization_code" and not self._pkce_ok(form):
                return self._json(
                    start_response, "400 BAD REQUEST", {"error": "invalid_grant", "error_description": "PKCE"}
                )
            environ["wsgi.input"] = io.BytesIO(body)
            tamper, self.tamper_next_token = self.tamper_next_token, None
            if tamper is None:
                return inner(environ, start_response)
            captured = {}

            def capture(status, headers, exc_info=None):
                captured["status"] = status
                return lambda data: None

            original = b"".join(inner(environ, capture))
            if not captured["status"].startswith("200"):
                return self._json(start_response, captured["status"], json.loads(original))
            return self._json(start_response, "200 OK", tamper(json.loads(original)))
        return inner(environ, start_response)

    def _pkce_ok(self, form: dict) -> bool:
        with self._lock:
            challenge, method = self._challenges.get(form.get("code", ""), ("", ""))
        verifier = form.get("code_verifier", "")
        if method != "S256" or not challenge or not verifier:
            return False
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        return digest == challenge

    @staticmethod
    def _json(start_response, status: str, payload: dict):
        body = json.dumps(payload).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


def _provider_app() -> flask.Flask:
    app = oidc_provider_mock.app(require_nonce=True)

    @app.post("/test/sign")
    def sign():
        storage = flask.g.oidc_provider_mock_storage
        key = storage.jwk.as_dict(is_private=True)
        header = {"alg": "RS256"}
        if key.get("kid"):
            header["kid"] = key["kid"]
        return authlib_jwt.encode(header, flask.request.get_json(), key).decode()

    return app


@contextmanager
def running_provider() -> Iterator[TestProvider]:
    provider = TestProvider(_provider_app())
    server = werkzeug.serving.make_server("localhost", 0, provider.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    provider.url = f"http://localhost:{server.server_port}"
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
