"""Settings > Remote access: how the server is reached from outside, and for how long at a time."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QLabel, QLineEdit, QWidget

from app.auth.origins import PublicUrlError, parse_proxies, parse_public_url
from app.config import AUTO_OFF_CHOICES, INGRESS_KINDS, Settings
from app.remote.adapters import INGRESS_NAMES
from app.remote.ngrok_ingress import AUTH_TOKEN_SECRET
from app.remote.schedule import AUTO_OFF_LABELS
from app.secrets.keyring_store import write_text


class RemoteSection(QGroupBox):
    """The fields of Settings > Remote access; `edited(settings)` applies them, or raises ValueError."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Remote access", parent)
        self.setObjectName("remoteSection")
        self.ingress = QComboBox()
        self.ingress.setObjectName("remoteIngress")
        for kind in INGRESS_KINDS:
            self.ingress.addItem(INGRESS_NAMES[kind], kind)
        self.public_url = QLineEdit()
        self.public_url.setObjectName("publicUrl")
        self.public_url.setPlaceholderText("https://mcp.example.com")
        self.trusted = QLineEdit()
        self.trusted.setObjectName("trustedProxies")
        self.trusted.setPlaceholderText("loopback (127.0.0.1, ::1)")
        self.auto_off = QComboBox()
        self.auto_off.setObjectName("remoteAutoOff")
        for choice in AUTO_OFF_CHOICES:
            self.auto_off.addItem(AUTO_OFF_LABELS[choice].capitalize(), choice)
        self.ngrok_domain = QLineEdit()
        self.ngrok_domain.setObjectName("ngrokDomain")
        self.ngrok_domain.setPlaceholderText("optional: your reserved domain")
        self.ngrok_token = QLineEdit()
        self.ngrok_token.setObjectName("ngrokToken")
        self.ngrok_token.setEchoMode(QLineEdit.EchoMode.Password)
        self.ngrok_token.setPlaceholderText("paste to save it in the OS keyring")
        self.tunnel = QLineEdit()
        self.tunnel.setObjectName("cloudflaredTunnel")
        self.tunnel.setPlaceholderText("the name of your named tunnel")
        form = self.form = QFormLayout(self)
        form.addRow("Reached through", self.ingress)
        form.addRow("Public URL", self.public_url)
        form.addRow("Trusted proxy addresses", self.trusted)
        form.addRow("Turn off by itself", self.auto_off)
        form.addRow("ngrok auth token", self.ngrok_token)
        form.addRow("ngrok domain", self.ngrok_domain)
        form.addRow("Cloudflare tunnel", self.tunnel)
        note = QLabel(
            "Remote access is off until you start it from the tray menu, and turns itself off as "
            "chosen above. Stopping it revokes every sign-in made through the public URL. Sign-ins "
            "through it get only the basic tools unless you tick more."
        )
        note.setObjectName("remoteNote")
        note.setWordWrap(True)
        note.setMinimumHeight(note.fontMetrics().lineSpacing() * 3)
        form.addRow(note)

    def add_passkeys(self, passkeys: QWidget) -> None:
        """Show the passkeys part (for approving remote sign-ins on the page) in this section."""
        self.form.addRow("Passkeys", passkeys)

    def load(self, settings: Settings) -> None:
        """Show these settings."""
        self.ingress.setCurrentIndex(max(0, self.ingress.findData(settings.ingress)))
        self.public_url.setText(settings.public_url)
        self.trusted.setText(", ".join(settings.trusted_proxies))
        self.auto_off.setCurrentIndex(max(0, self.auto_off.findData(settings.remote_auto_off)))
        self.ngrok_domain.setText(settings.ngrok_domain)
        self.tunnel.setText(settings.cloudflared_tunnel)
        self.ngrok_token.clear()  # never shown back; only replaced

    def pending_token(self) -> str:
        """A newly pasted ngrok auth token ("" when none was), read on the GUI thread."""
        return self.ngrok_token.text().strip()

    def edited(self, settings: Settings) -> Settings:
        """`settings` with this section's values; ValueError with a readable message when one is wrong."""
        kind = str(self.ingress.currentData())
        url = self.public_url.text().strip()
        proxies = [p.strip() for p in self.trusted.text().replace(";", ",").split(",") if p.strip()]
        try:
            # What each ingress needs (a URL, a tunnel name, a token) is checked when it starts.
            if url:
                url = parse_public_url(url).origin
            parse_proxies(proxies)
        except PublicUrlError as exc:
            raise ValueError(f"Remote access: {exc}") from exc
        return replace(settings, ingress=kind, public_url=url, trusted_proxies=proxies,
                       remote_auto_off=str(self.auto_off.currentData()),
                       ngrok_domain=self.ngrok_domain.text().strip(), cloudflared_tunnel=self.tunnel.text().strip())


def save_ngrok_token(data_dir: Path, token: str) -> None:
    """Put an ngrok auth token in the OS keyring (call off the GUI thread); SecretStoreError if it cannot."""
    if token:
        write_text(AUTH_TOKEN_SECRET, data_dir, token)
