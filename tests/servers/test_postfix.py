#!/usr/bin/python3
"""postfix.sh through servers.Postfix: a private Postfix 3.7 on 127.0.0.1;
mail sent with STARTTLS (and implicit TLS) arrives in the Maildir with the
exact body; relay, bare LF, size limit and encrypt-only policies answer as
configured; stop leaves no process and no listener behind."""

import os
import smtplib
import socket
import ssl
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers  # noqa: E402

SIZE_LIMIT = 100000


def tls_ctx():
    return ssl.create_default_context(cafile=servers.ca_file())


def message(subject, body):
    return (b'From: a@example.com\r\nTo: b@example.com\r\nSubject: ' + subject +
            b'\r\nMessage-ID: <' + subject + b'@client.test>\r\n\r\n' + body)


def listening(port):
    hexport = '0100007F:%04X' % port
    with open('/proc/net/tcp') as f:
        return any(l.split()[1] == hexport and l.split()[3] == '0A' for l in f.readlines()[1:])


class PostfixTests(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        t0 = time.monotonic()
        cls.pf = servers.Postfix(size_limit=SIZE_LIMIT, lifetime=120)
        cls.pf.__enter__()
        cls.start_time = time.monotonic() - t0

    @classmethod
    def tearDownClass(cls):
        if cls.pf is not None:
            cls.pf.__exit__(None, None, None)

    def delivered(self, subject, timeout=15):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for m in self.pf.messages():
                if b'\nSubject: ' + subject + b'\n' in m:
                    return m
            time.sleep(0.05)
        self.fail('message %r not delivered; maillog tail:\n%s' % (
            subject, open(self.pf.maillog, errors='replace').read()[-3000:]))

    def test_started_in_time(self):
        self.assertLess(self.start_time, 20)
        for p in (self.pf.port, self.pf.port_encrypt, self.pf.port_smtps):
            self.assertTrue(listening(p))

    def test_starttls_delivery_exact_body(self):
        body = (b'first line\r\n.leading dot\r\n..two dots\r\n\r\n'
                b'caf\xc3\xa9 8bit\r\n' + b'x' * 998 + b'\r\nlast\r\n')
        with smtplib.SMTP(self.pf.host, self.pf.port, local_hostname='client.test', timeout=10) as c:
            c.ehlo()
            self.assertIn('starttls', c.esmtp_features)
            self.assertEqual(c.esmtp_features['size'], str(SIZE_LIMIT))
            c.starttls(context=tls_ctx())
            c.ehlo()
            refused = c.sendmail('a@example.com', ['b@example.com'], message(b'tls1', body))
            self.assertEqual(refused, {})
        m = self.delivered(b'tls1')
        # Maildir files use LF; Postfix adds its trace headers on top.
        self.assertEqual(servers.body_of(m), body.replace(b'\r\n', b'\n'))
        self.assertTrue(m.startswith(b'Return-Path: <a@example.com>\n'), m[:200])
        self.assertIn(b'Delivered-To: b@example.com\n', m)
        self.assertIn(b'with ESMTPS id', m)  # it came over TLS

    def test_smtps_delivery(self):
        with smtplib.SMTP_SSL(self.pf.host, self.pf.port_smtps, local_hostname='client.test',
                              context=tls_ctx(), timeout=10) as c:
            c.sendmail('a@example.com', ['c@localhost'], message(b'smtps1', b'hello\r\n'))
        m = self.delivered(b'smtps1')
        self.assertEqual(servers.body_of(m), b'hello\n')
        self.assertIn(b'Delivered-To: c@localhost\n', m)

    def test_encrypt_port_requires_starttls(self):
        with smtplib.SMTP(self.pf.host, self.pf.port_encrypt, timeout=10) as c:
            c.ehlo('client.test')
            code, msg = c.mail('a@example.com')
            self.assertEqual((code, msg), (530, b'5.7.0 Must issue a STARTTLS command first'))
            c.starttls(context=tls_ctx())
            c.ehlo('client.test')
            self.assertEqual(c.mail('a@example.com')[0], 250)

    def test_relay_denied(self):
        with smtplib.SMTP(self.pf.host, self.pf.port, timeout=10) as c:
            c.ehlo('client.test')
            c.mail('a@example.com')
            code, msg = c.rcpt('x@elsewhere.test')
            self.assertEqual(code, 554)
            self.assertIn(b'Relay access denied', msg)

    def test_bare_lf_rejected(self):
        s = socket.create_connection((self.pf.host, self.pf.port), timeout=10)
        f = s.makefile('rb')

        def reply():
            lines = []
            while True:
                line = f.readline()
                lines.append(line)
                if not line or line[3:4] == b' ':
                    return lines

        self.assertTrue(reply()[0].startswith(b'220 '))
        for cmd, code in ((b'EHLO client.test\r\n', b'250'), (b'MAIL FROM:<a@example.com>\r\n', b'250'),
                          (b'RCPT TO:<b@example.com>\r\n', b'250'), (b'DATA\r\n', b'354')):
            s.sendall(cmd)
            self.assertTrue(reply()[-1].startswith(code))
        s.sendall(b'Subject: barelf\r\n\r\nbare\nLF\r\n.\r\n')
        self.assertEqual(reply(), [b'550 5.5.2 mx.example.com Error: bare <LF> received\r\n'])
        s.close()

    def test_size_limit(self):
        with smtplib.SMTP(self.pf.host, self.pf.port, timeout=10) as c:
            c.ehlo('client.test')
            code, msg = c.mail('a@example.com', ['SIZE=%d' % (SIZE_LIMIT + 1)])
            self.assertEqual(code, 552)
            c.rset()
            # without SIZE=, the limit is enforced at end of data
            c.mail('a@example.com')
            c.rcpt('b@example.com')
            code, msg = c.data(message(b'big', (b'z' * 76 + b'\r\n') * 1400))
            self.assertEqual((code, msg), (552, b'5.3.4 Error: message file too big'))

    def test_zz_stop_leaves_nothing(self):
        pf, cls = self.pf, type(self)
        cls.pf = None
        conf = os.path.join(pf.dir, 'etc')
        pf.__exit__(None, None, None)
        for p in (pf.port, pf.port_encrypt, pf.port_smtps):
            self.assertFalse(listening(p), p)
        left = []
        for pid in os.listdir('/proc'):
            if not pid.isdigit():
                continue
            try:
                with open('/proc/%s/environ' % pid, 'rb') as f:
                    if b'MAIL_CONFIG=' + conf.encode() + b'\0' in f.read():
                        left.append(pid)
            except OSError:
                pass
        self.assertEqual(left, [])
        self.assertFalse(os.path.exists(pf.dir))


if __name__ == '__main__':
    unittest.main(verbosity=2)
