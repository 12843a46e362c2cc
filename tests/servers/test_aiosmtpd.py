#!/usr/bin/python3
"""aiosmtpd_server.py through servers.Aiosmtpd: AUTH PLAIN and LOGIN over
STARTTLS, AUTH refused before TLS, bad password, require_starttls, message
saved byte for byte with its envelope."""

import os
import smtplib
import ssl
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers  # noqa: E402

MSG = b'From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\n.leading dot\r\n\xc3\xa9 8bit\r\nend\r\n'


def tls_ctx():
    return ssl.create_default_context(cafile=servers.ca_file())


class AiosmtpdTests(unittest.TestCase):

    def auth_and_send(self, mechanism):
        with servers.Aiosmtpd(user='user', password='secret', timeout=30) as s:
            c = smtplib.SMTP(s.host, s.port, local_hostname='client.test', timeout=10)
            c.ehlo()
            self.assertNotIn('auth', c.esmtp_features)   # not offered before TLS
            code, _ = c.docmd('AUTH', 'PLAIN AHVzZXIAc2VjcmV0')
            self.assertEqual(code, 538)                   # refused before TLS
            c.starttls(context=tls_ctx())
            c.ehlo()
            self.assertEqual(sorted(c.esmtp_features['auth'].split()), ['LOGIN', 'PLAIN'])
            with self.assertRaises(smtplib.SMTPAuthenticationError):
                c.login('user', 'wrong')
            c.user, c.password = 'user', 'secret'
            code, _ = c.auth(mechanism, getattr(c, 'auth_' + mechanism.lower()))
            self.assertEqual(code, 235)
            c.sendmail('a@example.com', ['b@example.com', 'c@example.com'], MSG)
            c.quit()
            [(env, raw)] = s.wait_messages(1)
        self.assertEqual(raw, MSG)
        self.assertEqual(env['mail_from'], 'a@example.com')
        self.assertEqual(env['rcpt_tos'], ['b@example.com', 'c@example.com'])
        self.assertEqual(env['helo'], 'client.test')
        self.assertTrue(env['tls'])
        self.assertEqual(env['auth_login'], 'user')

    def test_auth_plain(self):
        self.auth_and_send('PLAIN')

    def test_auth_login(self):
        self.auth_and_send('LOGIN')

    def test_require_starttls(self):
        with servers.Aiosmtpd(require_starttls=True, timeout=30) as s:
            c = smtplib.SMTP(s.host, s.port, timeout=10)
            c.ehlo('x')
            code, _ = c.mail('a@example.com')
            self.assertEqual(code, 530)
            c.starttls(context=tls_ctx())
            c.ehlo('x')
            c.sendmail('a@example.com', ['b@example.com'], b'Subject: x\r\n\r\nbody\r\n')
            c.quit()
            [(env, raw)] = s.wait_messages(1)
        self.assertEqual(raw, b'Subject: x\r\n\r\nbody\r\n')
        self.assertIsNone(env['auth_login'])

    def test_dot_unstuffing_is_exact(self):
        # smtplib stuffs the leading dot; the server saves it unstuffed
        with servers.Aiosmtpd(tls=False, timeout=30) as s:
            c = smtplib.SMTP(s.host, s.port, timeout=10)
            c.sendmail('a@example.com', ['b@example.com'], b'.\r\n..\r\nx\r\n')
            c.quit()
            [(env, raw)] = s.wait_messages(1)
        self.assertEqual(raw, b'.\r\n..\r\nx\r\n')
        self.assertFalse(env['tls'])


if __name__ == '__main__':
    unittest.main(verbosity=2)
