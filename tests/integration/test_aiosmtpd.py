#!/usr/bin/python3
"""mailout against Debian's aiosmtpd (AUTH PLAIN and LOGIN over STARTTLS):
success with each mechanism, wrong password, credentials never sent
without TLS (a recording relay shows what the server saw), a server
without STARTTLS under a TLS requirement, secrets never in the trace."""

import base64
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import itest  # noqa: E402
from itest import servers  # noqa: E402

USER = 'mailer'
PASSWORD = 'pä$$ wörd:"\\x'   # non-ASCII, spaces, quotes: all must survive SASL
MSG_TEXT = 'Hello.\n.\nBye.\n'


def secrets_forms(user, password):
    """Every form a secret could take on a trace line."""
    pw = password.encode()
    forms = [pw, base64.b64encode(pw), base64.b64encode(b'\0' + user.encode() + b'\0' + pw),
             base64.b64encode(user.encode() + b'\0' + user.encode() + b'\0' + pw)]
    return [f for f in forms if f]


class Aiosmtpd(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.files = itest.Files()

    @classmethod
    def tearDownClass(cls):
        cls.files.cleanup()

    def send(self, port, extra=(), tls='starttls', user=USER, password=PASSWORD):
        trace = os.path.join(self.files.dir, 'trace-%s.txt' % self.id().split('.')[-1])
        a = ['--host', '127.0.0.1', '--port', port, '--tls', tls, '--cafile', servers.ca_file(),
             '--server-name', 'localhost', '--ehlo', 'client.example', '--from', 'a@example.com',
             '--to', 'b@example.com', '--subject', 'auth test', '--text-data', MSG_TEXT,
             '--timeout-ms', 15000, '--trace', trace]
        if user is not None:
            a += ['--user', user, '--password', password]
        r = itest.run(a + list(extra))
        with open(trace, 'rb') as f:
            tr = f.read()
        # secrets never reach the trace, stdout or stderr
        for form in secrets_forms(USER, PASSWORD):
            self.assertNotIn(form, tr)
            self.assertNotIn(form, r.out)
            self.assertNotIn(form, r.err.encode())
        return r, tr

    def auth_ok(self, mech):
        with servers.Aiosmtpd(user=USER, password=PASSWORD, timeout=30) as s:
            r, tr = self.send(s.port, ['--auth', mech])
            self.assertEqual(r.r.status, 'OK', r)
            [(env, raw)] = s.wait_messages(1)
        self.assertEqual((env['auth_login'], env['tls'], env['helo']), (USER, True, 'client.example'))
        self.assertEqual(env['mail_from'], 'a@example.com')
        self.assertEqual(env['rcpt_tos'], ['b@example.com'])
        self.assertEqual(itest.parse(raw).get_payload(decode=True), itest.crlf(MSG_TEXT.encode()))
        lines = tr.split(b'\n')
        auth = [l for l in lines if l.startswith(b'> AUTH')]
        self.assertEqual(len(auth), 1, tr)
        self.assertTrue(auth[0].startswith(b'> AUTH ' + mech.upper().encode()), auth)
        self.assertIn(b'redacted', tr)
        # STARTTLS before AUTH, and the EHLO again after it
        sent = [l for l in lines if l.startswith(b'> ')]
        self.assertEqual(sent[:3], [b'> EHLO client.example', b'> STARTTLS', b'> EHLO client.example'])
        return tr

    def test_auth_plain(self):
        self.auth_ok('plain')

    def test_auth_login(self):
        tr = self.auth_ok('login')
        # both LOGIN steps are redacted lines of their own
        self.assertGreaterEqual(tr.count(b'redacted'), 2, tr)

    def test_wrong_password(self):
        with servers.Aiosmtpd(user=USER, password=PASSWORD, timeout=30) as s:
            for mech in ('plain', 'login'):
                with self.subTest(mech=mech):
                    r, tr = self.send(s.port, ['--auth', mech], password=PASSWORD + 'x')
                    self.assertEqual((r.r.status, r.r.stage, r.r.code), ('E_AUTH', 'AUTH', 535), r)
            self.assertEqual(s.messages(), [])

    def test_no_credentials_without_tls(self):
        # The server offers AUTH PLAIN LOGIN in cleartext; policy NONE with
        # credentials: refused locally, and the server never sees AUTH.
        with servers.Aiosmtpd(user=USER, password=PASSWORD, auth_require_tls=False, timeout=30) as s:
            with itest.Proxy(s.port) as px:
                r, tr = self.send(px.port, tls='none')
            self.assertEqual((r.r.status, r.r.code), ('E_AUTH_INSECURE', 0), r)
            self.assertEqual(r.r.stage, 'AUTH')
            self.assertIn(b'AUTH LOGIN PLAIN', px.server_bytes.upper().replace(b'PLAIN LOGIN', b'LOGIN PLAIN'))
            self.assertNotIn(b'AUTH', px.client_bytes.upper())
            self.assertNotIn(b'MAIL', px.client_bytes.upper())
            self.assertTrue(px.client_bytes.upper().startswith(b'EHLO CLIENT.EXAMPLE\r\n'), px.client_bytes)
            self.assertEqual(s.messages(), [])

    def test_plaintext_auth_only_when_allowed(self):
        with servers.Aiosmtpd(user=USER, password=PASSWORD, auth_require_tls=False, timeout=30) as s:
            r, tr = self.send(s.port, ['--allow-plaintext-auth'], tls='none')
            self.assertEqual(r.r.status, 'OK', r)
            [(env, raw)] = s.wait_messages(1)
            self.assertEqual((env['auth_login'], env['tls']), (USER, False))

    def test_no_auth_before_starttls(self):
        # AUTH advertised before TLS as well: the cleartext part of the
        # session (up to STARTTLS) carries no AUTH.
        with servers.Aiosmtpd(user=USER, password=PASSWORD, auth_require_tls=False, timeout=30) as s:
            with itest.Proxy(s.port) as px:
                r, tr = self.send(px.port)
            self.assertEqual(r.r.status, 'OK', r)
            clear = px.client_bytes.split(b'STARTTLS\r\n')[0]
            self.assertEqual(clear, b'EHLO client.example\r\n')
            # what the server offered in cleartext (before its 220 to STARTTLS)
            offered = px.server_bytes.split(b'\r\n220 ')[0].upper()
            self.assertIn(b'250-AUTH ', offered)
            s.wait_messages(1)

    def test_server_without_starttls(self):
        with servers.Aiosmtpd(tls=False, timeout=30) as s:
            with itest.Proxy(s.port) as px:
                r, tr = self.send(px.port, user=None)
            self.assertEqual((r.r.status, r.r.stage), ('E_TLS_REQUIRED', 'EHLO'), r)
            sent = px.client_bytes.upper()
            self.assertTrue(sent.startswith(b'EHLO CLIENT.EXAMPLE\r\n'), sent)
            for verb in (b'MAIL', b'AUTH', b'HELO', b'STARTTLS', b'RCPT'):
                self.assertNotIn(verb, sent)
            self.assertEqual(s.messages(), [])

    def test_auth_required_without_credentials(self):
        with servers.Aiosmtpd(user=USER, password=PASSWORD, auth_required=True, timeout=30) as s:
            r, tr = self.send(s.port, user=None)
            self.assertEqual((r.r.status, r.r.stage, r.r.code), ('E_REJ_PERM', 'MAIL', 530), r)
            self.assertEqual(s.messages(), [])


if __name__ == '__main__':
    unittest.main(verbosity=2)
