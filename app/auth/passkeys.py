"""The WebAuthn steps (with the `webauthn` package): register a passkey, and prove the owner is here.

A passkey is bound to the RP ID of the page it was made on, so both steps run on the public way
in only: RP ID = the public host, origin = the public origin (`WayIn.relying_party`). User
verification (PIN, fingerprint, face) is required in both. The challenges are the store's
one-time secrets: a registration challenge is bound to its enrolment link, an approval challenge
to one sign-in request, and each is used once, whether the answer verifies or not.

`webauthn` (with pyOpenSSL, pyasn1 and cbor2: ~0.15 s and ~7 MiB) is imported by the steps that use it,
not with this module: most servers never see a passkey, and `serve` starts without it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from app.store.passkeys import CHALLENGE_TTL, Enrolment, PasskeyError, PasskeyRow, PasskeyStore

RP_NAME = "MCP Tray"
TIMEOUT_MS = 120_000


@dataclass(frozen=True)
class RelyingParty:
    """Who the passkey is for: the public host (RP ID) and the public origin the page runs on."""

    rp_id: str
    origin: str


def _challenge_of(credential: dict[str, Any]) -> bytes:
    """The challenge a credential answers (from its clientDataJSON); PasskeyError when unreadable."""
    from webauthn.helpers import base64url_to_bytes, parse_client_data_json
    from webauthn.helpers.exceptions import WebAuthnException

    try:
        response = credential["response"]
        data = parse_client_data_json(base64url_to_bytes(str(response["clientDataJSON"])))
        return bytes(data.challenge)
    except (KeyError, TypeError, ValueError, WebAuthnException) as exc:
        raise PasskeyError(f"the browser's answer is not a WebAuthn credential ({type(exc).__name__})") from None


def _credential(body: object) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("credential"), dict):
        raise PasskeyError("the request must be JSON with a `credential` object")
    credential: dict[str, Any] = body["credential"]
    return credential


class Ceremonies:
    """Registration and approval steps over the store's passkey tables."""

    def __init__(self, passkeys: PasskeyStore) -> None:
        self.passkeys = passkeys

    # -- registration ----------------------------------------------------------------------------

    def registration_options(self, rp: RelyingParty, enrolment: Enrolment) -> str:
        """`PublicKeyCredentialCreationOptions` as JSON, with a fresh challenge bound to this enrolment."""
        from webauthn import generate_registration_options, options_to_json
        from webauthn.helpers.structs import (
            AuthenticatorSelectionCriteria,
            PublicKeyCredentialDescriptor,
            ResidentKeyRequirement,
            UserVerificationRequirement,
        )

        challenge = self.passkeys.issue("register", enrolment.token_hash, max(1.0, enrolment.expires_at - time.time()))
        existing = [PublicKeyCredentialDescriptor(id=p.credential_id) for p in self.passkeys.list(rp.rp_id)]
        options = generate_registration_options(
            rp_id=rp.rp_id, rp_name=RP_NAME, user_name="owner", user_display_name=f"MCP Tray owner ({enrolment.name})",
            challenge=challenge, timeout=TIMEOUT_MS, exclude_credentials=existing,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.PREFERRED,
                user_verification=UserVerificationRequirement.REQUIRED),
        )
        return options_to_json(options)

    def register(self, rp: RelyingParty, enrolment: Enrolment, body: object) -> PasskeyRow:
        """Verify an attestation for this enrolment and store the passkey; PasskeyError when refused."""
        from webauthn import verify_registration_response
        from webauthn.helpers.exceptions import WebAuthnException

        credential = _credential(body)
        challenge = _challenge_of(credential)
        if self.passkeys.redeem("register", enrolment.token_hash, challenge) is None:
            raise PasskeyError("this registration step is not known, was already used or took too long; reload "
                               "the page and try again")
        try:
            verified = verify_registration_response(
                credential=credential, expected_challenge=challenge, expected_rp_id=rp.rp_id,
                expected_origin=rp.origin, require_user_verification=True)
        except WebAuthnException as exc:
            raise PasskeyError(f"the passkey could not be verified: {exc}") from None
        return self.passkeys.add(enrolment, rp.rp_id, bytes(verified.credential_id),
                                 bytes(verified.credential_public_key), int(verified.sign_count))

    # -- approval --------------------------------------------------------------------------------

    def authentication_options(self, rp: RelyingParty, approval_id: str) -> str:
        """`PublicKeyCredentialRequestOptions` as JSON, with a challenge for this request only (2 minutes)."""
        from webauthn import generate_authentication_options, options_to_json
        from webauthn.helpers.structs import PublicKeyCredentialDescriptor, UserVerificationRequirement

        keys = self.passkeys.list(rp.rp_id)
        if not keys:
            raise PasskeyError("no passkey is registered for this server; approve with `mcp-tray approve` instead")
        challenge = self.passkeys.issue("approve", approval_id, CHALLENGE_TTL)
        options = generate_authentication_options(
            rp_id=rp.rp_id, challenge=challenge, timeout=TIMEOUT_MS,
            allow_credentials=[PublicKeyCredentialDescriptor(id=p.credential_id) for p in keys],
            user_verification=UserVerificationRequirement.REQUIRED)
        return options_to_json(options)

    def authenticate(self, rp: RelyingParty, approval_id: str, body: object) -> PasskeyRow:
        """Verify an assertion answering this request's challenge; the passkey used, or PasskeyError."""
        from webauthn import verify_authentication_response
        from webauthn.helpers import base64url_to_bytes
        from webauthn.helpers.exceptions import WebAuthnException

        credential = _credential(body)
        challenge = _challenge_of(credential)
        if self.passkeys.redeem("approve", approval_id, challenge) is None:
            raise PasskeyError("this passkey step is not for this request, was already used or took too long; "
                               "try again")
        try:
            raw_id = base64url_to_bytes(str(credential.get("rawId") or credential.get("id") or ""))
        except ValueError:
            raise PasskeyError("the browser's answer has no readable credential id") from None
        passkey = self.passkeys.by_credential(raw_id, rp.rp_id)
        if passkey is None:
            raise PasskeyError("this passkey is not registered (or was removed) for this server")
        try:
            verified = verify_authentication_response(
                credential=credential, expected_challenge=challenge, expected_rp_id=rp.rp_id,
                expected_origin=rp.origin, credential_public_key=passkey.public_key,
                credential_current_sign_count=passkey.sign_count, require_user_verification=True)
        except WebAuthnException as exc:
            raise PasskeyError(f"the passkey could not be verified: {exc}") from None
        self.passkeys.used(passkey.id, int(verified.new_sign_count))
        return passkey


def parse_json(raw: bytes) -> object:
    """A request body as JSON; PasskeyError when it is not."""
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise PasskeyError("the request body must be JSON") from None
