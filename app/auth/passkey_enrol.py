"""Starting a passkey enrolment: only the owner (the tray app or the CLI, on the owner's data dir) can.

The link goes to the public URL because a passkey is bound to the host of the page it is created
on: one made on loopback could never be used on the public waiting page.
"""

from __future__ import annotations

from app.auth.origins import PublicUrlError, parse_public_url
from app.store.passkeys import ENROL_TTL, PasskeyError
from app.store.store import Store

NO_REMOTE = ("Remote access is not set up, so there is nothing to add a passkey for: passkeys approve sign-ins "
             "that come through the public URL. Set the public URL first (Settings > Remote access, or "
             "`--public-url https://HOST`).")


def enrolment_link(store: Store, name: str, public_url: str) -> str:
    """Mint a single-use link (ENROL_TTL seconds) that creates the passkey `name` on `public_url`.

    PasskeyError (with a sentence to show) when there is no public URL, it is not valid, or the name is.
    """
    if not public_url.strip():
        raise PasskeyError(NO_REMOTE)
    try:
        origin = parse_public_url(public_url).origin
    except PublicUrlError as exc:
        raise PasskeyError(f"the public URL cannot be used: {exc}") from None
    token = store.passkeys.mint_enrolment(name, origin, ENROL_TTL)
    return f"{origin}/passkeys/enroll?t={token}"
