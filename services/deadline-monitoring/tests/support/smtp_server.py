"""A real SMTP server for the deadline-monitoring tests (aiosmtpd): STARTTLS required, AUTH
required (PLAIN/LOGIN, only after STARTTLS), one user.

Usage: smtp_server.py PORT CERT_FILE KEY_FILE USER PASSWORD

Prints "ready" once it listens, then one JSON line per accepted message with what a reader
sees: the decoded subject and body, the envelope, the authenticated user and whether the session
was encrypted. Reads commands from stdin: "refuse" answers every RCPT with 451 from then on,
"accept" takes them again. Ends when stdin closes.
"""

import email
import email.policy
import json
import ssl
import sys
import warnings

# aiosmtpd 1.4 warns about its own use of a deprecated session attribute.
warnings.simplefilter("ignore", DeprecationWarning)

try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword
except ImportError:
    print("aiosmtpd is missing: pip install aiosmtpd (scripts/test.sh installs it)", file=sys.stderr)
    sys.exit(3)

port, cert_file, key_file, user, password = sys.argv[1:6]
refusing = False


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and \
        auth_data.password.decode() == password
    return AuthResult(success=ok, handled=False, auth_data=auth_data)


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if refusing:
            return "451 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        print(json.dumps({
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(message["From"]),
            "to": str(message["To"]),
            "subject": str(message["Subject"]),
            "message_id": str(message["Message-ID"]),
            "body": message.get_content(),
            "authenticated_as": session.auth_data.login.decode() if session.authenticated else None,
            "encrypted": session.ssl is not None,
        }), flush=True)
        return "250 Message accepted"


context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert_file, key_file)
controller = Controller(
    Handler(),
    hostname="127.0.0.1",
    port=int(port),
    tls_context=context,
    require_starttls=True,
    auth_required=True,
    auth_require_tls=True,
    authenticator=authenticator,
)
controller.start()
print("ready", flush=True)
for line in sys.stdin:
    command = line.strip()
    if command == "refuse":
        refusing = True
    elif command == "accept":
        refusing = False
    print("ok " + command, flush=True)
controller.stop()
