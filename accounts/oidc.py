"""Sign-in through the organisation's identity provider (OpenID Connect, on mozilla-django-oidc).

- Endpoints come from the issuer's discovery document
  (`<OIDC_ISSUER>/.well-known/openid-configuration`), cached for an hour; a document that names
  another issuer is refused.
- Authorization code flow with PKCE (S256), state and nonce (mozilla-django-oidc).
- The ID token must be signed by a key of the issuer's JWKS, be issued by the configured issuer,
  for our client id, and not be expired; claims from the userinfo endpoint are taken only for
  the same `sub`.
- Users are matched on (issuer, `sub`) through `StaffIdentity`, created at their first sign-in;
  their roles and an editor's municipalities follow the claims at every sign-in (`roles_from_claims`).
- Signing out ends the session at the provider too when it offers an `end_session_endpoint`.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import jwt
import requests
from django.conf import settings
from django.contrib import auth
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.views.decorators.http import require_POST
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from cooperation.models import EditorProfile, Municipality
from cooperation.permissions import ADMINISTRATOR, EDITOR, VIEWER

from .models import StaffIdentity

logger = logging.getLogger(__name__)

DISCOVERY_CACHE_SECONDS = 3600
CBS_CODE = re.compile(r"GM[0-9]{4}")


class ProviderError(Exception):
    """The identity provider could not be reached or answered something unusable."""


def oidc_enabled() -> bool:
    return bool(settings.OIDC_ISSUER and settings.OIDC_RP_CLIENT_ID)


def discovery() -> dict:
    """The issuer's OpenID Provider metadata; cached, so one HTTP request an hour."""
    issuer = settings.OIDC_ISSUER
    key = "oidc-discovery:" + hashlib.sha256(issuer.encode()).hexdigest()
    document = cache.get(key)
    if document is not None:
        return document
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProviderError(f"discovery at {url} failed: {exc}") from exc
    if not isinstance(document, dict) or document.get("issuer") != issuer:
        # OpenID Connect Discovery 1.0, section 4.3: the issuer must be exactly the one asked for.
        raise ProviderError(f"discovery at {url} names issuer {document.get('issuer')!r}, not {issuer!r}")
    for required in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not document.get(required):
            raise ProviderError(f"discovery at {url} has no {required}")
    cache.set(key, document, DISCOVERY_CACHE_SECONDS)
    return document


def claim(claims: dict, path: str):
    """A claim by name (Entra's `extn.gemeente` included), or by a dotted path into nested
    claims (Keycloak's `realm_access.roles`)."""
    if path in claims:
        return claims[path]
    value = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [item for item in re.split(r"[\s,]+", value) if item]
    if isinstance(value, list | tuple):
        return [str(item) for item in value]
    return [str(value)]


@dataclass(frozen=True)
class Grant:
    """What a set of claims grants: role group names and, for an editor, municipality codes."""

    roles: frozenset[str]
    municipality_codes: tuple[str, ...]
    unknown_codes: tuple[str, ...] = ()

    @property
    def is_staff(self) -> bool:
        return bool(self.roles & {EDITOR, ADMINISTRATOR})

    @property
    def grants_nothing(self) -> bool:
        return not self.roles


def roles_from_claims(claims: dict) -> Grant:
    """Map the configured roles claim and municipalities claim to roles.

    An editor role without a known municipality grants no editing (there would be nothing to
    edit); codes that are not current CBS codes in the register are ignored and reported.
    """
    values = set(as_list(claim(claims, settings.OIDC_ROLES_CLAIM)))
    roles = {role for role, accepted in settings.OIDC_ROLE_VALUES.items() if values & set(accepted)}
    codes = [code.strip().upper() for code in as_list(claim(claims, settings.OIDC_MUNICIPALITIES_CLAIM))]
    known = set(
        Municipality.objects.filter(cbs_code__in=[c for c in codes if CBS_CODE.fullmatch(c)]).values_list(
            "cbs_code", flat=True
        )
    )
    municipality_codes = tuple(sorted(known))
    unknown = tuple(sorted(set(codes) - known))
    if EDITOR in roles and not municipality_codes:
        roles.discard(EDITOR)
    return Grant(roles=frozenset(roles), municipality_codes=municipality_codes, unknown_codes=unknown)


@transaction.atomic
def staff_roles_apply(*, user, grant: Grant) -> None:
    """Make the user's role groups, staff flag and editor municipalities exactly what `grant` says.

    Groups other than the three roles are left alone; so is `is_superuser` (never given by claims).
    """
    role_names = {VIEWER, EDITOR, ADMINISTRATOR}
    user.groups.remove(*Group.objects.filter(name__in=role_names - grant.roles))
    user.groups.add(*Group.objects.filter(name__in=grant.roles))
    if user.is_staff != grant.is_staff:
        user.is_staff = grant.is_staff
        user.save(update_fields=["is_staff"])
    municipalities = Municipality.objects.filter(cbs_code__in=grant.municipality_codes if EDITOR in grant.roles else [])
    profile = EditorProfile.objects.filter(user=user).first()
    if profile is None and EDITOR in grant.roles:
        profile = EditorProfile.objects.create(user=user)
    if profile is not None:
        profile.municipalities.set(municipalities)


def _username_for(claims: dict, issuer: str, sub: str, user_model) -> str:
    """A readable, unique user name: preferred_username or e-mail, else the subject."""
    base = str(claims.get("preferred_username") or claims.get("email") or sub)[:130]
    if not user_model.objects.filter(username=base).exists():
        return base
    return f"{base}~{hashlib.sha256(f'{issuer} {sub}'.encode()).hexdigest()[:12]}"


class OIDCBackend(OIDCAuthenticationBackend):
    """Authenticates the callback of the code flow; matches users on (issuer, sub)."""

    def __init__(self, *args, **kwargs):
        # Endpoints are read from discovery when needed (properties below), not on every request
        # that merely loads the signed-in user through this backend.
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None
        self.UserModel = auth.get_user_model()

    @property
    def OIDC_OP_TOKEN_ENDPOINT(self):  # noqa: N802 - the library's attribute names
        return discovery()["token_endpoint"]

    @property
    def OIDC_OP_USER_ENDPOINT(self):  # noqa: N802
        return discovery().get("userinfo_endpoint")

    @property
    def OIDC_OP_JWKS_ENDPOINT(self):  # noqa: N802
        return discovery()["jwks_uri"]

    def authenticate(self, request, **kwargs):
        # Only the callback view passes a nonce; a password sign-in never reaches the provider.
        if request is None or "nonce" not in kwargs or "password" in kwargs or not oidc_enabled():
            return None
        self.request = request
        try:
            return super().authenticate(request, **kwargs)
        except (ProviderError, requests.RequestException, SuspiciousOperation, jwt.PyJWTError) as exc:
            logger.warning("OpenID Connect sign-in refused: %s", exc)
            request.oidc_refusal = "failed"
            return None

    def retrieve_matching_jwk(self, token):
        """The signing key from the issuer's JWKS: by `kid`, or the only key when the token names none."""
        try:
            response = requests.get(self.OIDC_OP_JWKS_ENDPOINT, timeout=settings.OIDC_TIMEOUT)
            response.raise_for_status()
            keys = response.json()["keys"]
        except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
            raise ProviderError(f"JWKS could not be read: {exc}") from exc
        header = jwt.get_unverified_header(token)
        keys = [
            key
            for key in keys
            if key.get("use", "sig") == "sig" and key.get("alg", header.get("alg")) == header.get("alg")
        ]
        if header.get("kid") is not None:
            keys = [key for key in keys if key.get("kid") == header["kid"]]
        if len(keys) != 1:
            raise SuspiciousOperation("no single signing key in the JWKS matches the ID token")
        return jwt.PyJWK(keys[0])

    def _verify_jws(self, payload, key):
        """Signature, and the claims the library leaves unchecked: issuer, audience, expiry."""
        header = jwt.get_unverified_header(payload)
        if header.get("alg") != self.OIDC_RP_SIGN_ALGO:
            raise SuspiciousOperation(f"ID token signed with {header.get('alg')!r}, not {self.OIDC_RP_SIGN_ALGO!r}")
        try:
            return jwt.decode(
                payload,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=settings.OIDC_ISSUER,
                options={"require": ["iss", "aud", "exp", "iat", "sub"]},
                leeway=30,
            )
        except jwt.PyJWTError as exc:
            raise SuspiciousOperation(f"ID token refused: {exc}") from exc

    def get_userinfo(self, access_token, id_token, payload):
        """The ID token's claims, completed by the userinfo endpoint's (same `sub` only).

        Entra ID puts app roles in the ID token only; Keycloak puts them in both.
        """
        claims = dict(payload)
        if self.OIDC_OP_USER_ENDPOINT and access_token:
            userinfo = super().get_userinfo(access_token, id_token, payload)
            if userinfo.get("sub") != payload.get("sub"):
                raise SuspiciousOperation("userinfo is about another subject than the ID token")
            claims.update(userinfo)
        return claims

    def verify_claims(self, claims):
        return bool(claims.get("sub"))

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        if not self.verify_claims(claims):
            raise SuspiciousOperation("no sub claim")
        issuer, sub = settings.OIDC_ISSUER, str(claims["sub"])
        grant = roles_from_claims(claims)
        identity = StaffIdentity.objects.select_related("user").filter(issuer=issuer, sub=sub).first()
        if grant.unknown_codes:
            logger.warning("OpenID Connect sign-in of %s: unknown municipality codes %s", sub, grant.unknown_codes)
        if grant.grants_nothing:
            if identity is not None:
                staff_roles_apply(user=identity.user, grant=grant)
            self.request.oidc_refusal = "no_role"
            self.request.oidc_refusal_codes = grant.unknown_codes
            return None
        with transaction.atomic():
            if identity is None:
                user = self.UserModel(username=_username_for(claims, issuer, sub, self.UserModel))
                user.set_unusable_password()
                user.save()
                identity = StaffIdentity.objects.create(user=user, issuer=issuer, sub=sub)
            user = identity.user
            user.email = str(claims.get("email") or "")[:254]
            user.first_name = str(claims.get("given_name") or "")[:150]
            user.last_name = str(claims.get("family_name") or "")[:150]
            user.save(update_fields=["email", "first_name", "last_name"])
            staff_roles_apply(user=user, grant=grant)
            identity.save(update_fields=["last_claims_at"])
        return user


class OIDCStartView(OIDCAuthenticationRequestView):
    """Redirects to the provider's authorization endpoint (with state, nonce and PKCE)."""

    def __init__(self, *args, **kwargs):
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID

    def get(self, request):
        if not oidc_enabled():
            return render(request, "registration/oidc_failed.html", {"reason": "not_configured"}, status=404)
        try:
            self.OIDC_OP_AUTH_ENDPOINT = discovery()["authorization_endpoint"]
        except ProviderError as exc:
            logger.warning("OpenID Connect sign-in could not start: %s", exc)
            return render(request, "registration/oidc_failed.html", {"reason": "unreachable"}, status=502)
        return super().get(request)

    def get_extra_params(self, request):
        # The provider's pages in the portal's language where it supports that.
        return {"ui_locales": request.LANGUAGE_CODE}


class OIDCCallbackView(OIDCAuthenticationCallbackView):
    """The provider's redirect back; a refusal gets a page saying why, never an error page."""

    def get(self, request):
        try:
            return super().get(request)
        except SuspiciousOperation as exc:
            # A state this browser never asked for (forged, replayed or from another tab's session).
            logger.warning("OpenID Connect callback refused: %s", exc)
            return self.refused("failed")

    def refused(self, reason: str, **context):
        return render(
            self.request,
            "registration/oidc_failed.html",
            {"reason": reason, **context},
            status=403 if reason == "no_role" else 400,
        )

    def login_failure(self):
        reason = getattr(self.request, "oidc_refusal", None) or "failed"
        if self.request.GET.get("error") == "access_denied":
            reason = "cancelled"
        return self.refused(reason, unknown_codes=getattr(self.request, "oidc_refusal_codes", ()))

    def login_success(self):
        response = super().login_success()
        # The library keeps this for its refresh middleware, which the portal does not use.
        self.request.session.pop("oidc_id_token_expiration", None)
        return response


def provider_logout_url(request) -> str | None:
    """The provider's end-session URL for this session (RP-initiated logout), if it has one."""
    id_token = request.session.get("oidc_id_token")
    if not id_token or not oidc_enabled():
        return None
    try:
        endpoint = discovery().get("end_session_endpoint")
    except ProviderError:
        return None
    if not endpoint:
        return None
    query = urlencode(
        {
            "id_token_hint": id_token,
            "client_id": settings.OIDC_RP_CLIENT_ID,
            # One fixed address to register at the provider, whatever the language.
            "post_logout_redirect_uri": request.build_absolute_uri("/"),
        }
    )
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"


def end_session_origin() -> str | None:
    """The origin (scheme://host:port) of the provider's end_session_endpoint, if any."""
    if not oidc_enabled():
        return None
    try:
        endpoint = discovery().get("end_session_endpoint")
    except ProviderError:
        return None
    if not endpoint:
        return None
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


@require_POST
def logout(request):
    """Sign out here, and at the provider when the session came from there and it supports that."""
    target = provider_logout_url(request) or resolve_url(settings.LOGOUT_REDIRECT_URL)
    auth.logout(request)
    return HttpResponseRedirect(target)
