"""The mail seam: one digest message to one SMTP server.

STARTTLS, implicit TLS or plain (for a local relay), a timeout on every step, login
with a password read from the environment at send time (never stored, never logged).
smtplib's and the socket's errors become ``DeliveryError``: 4xx replies and broken
connections are worth retrying, 5xx replies are not.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage

from tracker.config import EmailSettings
from tracker.errors import DeliveryError


class SmtpMailer:
    def __init__(self, settings: EmailSettings, environ: Mapping[str, str]) -> None:
        self.settings = settings
        self._environ = environ

    def _tls(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.settings.ca_file:
            context.load_verify_locations(cafile=str(self.settings.ca_file))
        return context

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.security == "tls":
            return smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=self._tls())
        smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        if s.security == "starttls":
            smtp.starttls(context=self._tls())
        return smtp

    def send(self, message: EmailMessage) -> None:
        s = self.settings
        where = f"{s.host}:{s.port}"
        try:
            with self._connect() as smtp:
                if s.username:
                    password = self._environ.get(s.password_env)
                    if password is None:
                        raise DeliveryError(
                            f"no SMTP password: set the environment variable {s.password_env}",
                            retryable=False,
                        )
                    smtp.login(s.username, password)
                refused = smtp.send_message(message)
            if refused:
                raise DeliveryError(f"{where} refused {sorted(refused)}", retryable=False)
        except smtplib.SMTPRecipientsRefused as e:
            codes = [code for code, _ in e.recipients.values()]
            raise DeliveryError(
                f"{where} refused the recipient ({', '.join(map(str, codes))})",
                retryable=all(400 <= c < 500 for c in codes),
            ) from e
        except smtplib.SMTPAuthenticationError as e:
            raise DeliveryError(
                f"{where} rejected the login ({e.smtp_code})", retryable=False
            ) from e
        except smtplib.SMTPResponseException as e:
            text = (
                e.smtp_error.decode(errors="replace")
                if isinstance(e.smtp_error, bytes)
                else str(e.smtp_error)
            )
            raise DeliveryError(
                f"{where} answered {e.smtp_code} {text}", retryable=400 <= e.smtp_code < 500
            ) from e
        except (smtplib.SMTPException, OSError) as e:  # refused, reset, timeout, TLS
            raise DeliveryError(
                f"could not send through {where}: {type(e).__name__}: {e}", retryable=True
            ) from e
