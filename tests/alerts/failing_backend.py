"""An e-mail backend that refuses one domain, like an SMTP server or SES would, and keeps the
rest in django.core.mail.outbox like the locmem backend."""

import smtplib

from django.core.mail.backends.locmem import EmailBackend as LocmemBackend

REFUSED_DOMAIN = "@invalid.example.com"


class EmailBackend(LocmemBackend):
    def send_messages(self, messages):
        for message in messages:
            refused = [to for to in message.to if to.endswith(REFUSED_DOMAIN)]
            if refused:
                raise smtplib.SMTPRecipientsRefused(dict.fromkeys(refused, (550, b"no such user")))
        return super().send_messages(messages)
