#!/usr/bin/python3
"""Adversarial servers, part 1: STARTTLS and TLS over a real socket
(SECURITY-RULES 2.1/2.2 and cases 1-4, 9, 11-14), against the scripted
peer with itool (mailout_send). Each case asserts the status, the stage
and what the client wrote (the peer's record, decrypted after STARTTLS)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peerlib import (EOF, GREETING, QUIT, data, data_cmd, ehlo, ehlo_reply, happy, line,  # noqa: E402
                     mail, rcpt, session, transaction, wire_message)

STARTTLS = line('STARTTLS', '220 2.0.0 go ahead\r\n')
CLEAR_EHLO = b'EHLO client.example\r\n'


class StartTLS(unittest.TestCase):

    def check(self, s, status, stage, code=None, record=None):
        self.assertEqual((s.r.status, s.r.stage), (status, stage), s)
        if code is not None:
            self.assertEqual(s.r.code, code, s)
        if record is not None:
            self.assertEqual(s.record, record, s)
        self.assertTrue(s.peer.ok, s)

    def test_happy_starttls(self):
        s = session([GREETING, ehlo('STARTTLS'), STARTTLS, {'starttls': True, 'expect_sni': 'localhost'},
                     ehlo('PIPELINING')] + transaction() + [QUIT], tls='starttls')
        self.check(s, 'OK', 'END', 250)

    def test_stripped_from_ehlo(self):                                   # case 1
        # mailout closes without QUIT after a TLS failure (QUIT is optional)
        s = session([GREETING, ehlo('PIPELINING', 'AUTH PLAIN', '8BITMIME'), EOF], tls='starttls',
                    args=['--user', 'u', '--password', 'secret'])
        self.check(s, 'E_TLS_REQUIRED', 'EHLO', record=CLEAR_EHLO)

    def test_starttls_lookalikes_are_not_starttls(self):                 # case 64
        for cap in ('STARTTLSX', 'XSTARTTLS', 'NOSTARTTLS', 'STARTTL', 'X-STARTTLS'):
            with self.subTest(cap=cap):
                s = session([GREETING, ehlo(cap), EOF], tls='starttls')
                self.check(s, 'E_TLS_REQUIRED', 'EHLO', record=CLEAR_EHLO)

    def test_lowercase_starttls_is_starttls(self):                       # case 64
        s = session([GREETING, ehlo('starttls'), STARTTLS, {'starttls': True}, ehlo()] + transaction() + [QUIT],
                    tls='starttls')
        self.check(s, 'OK', 'END')

    def test_refused(self):                                              # case 2
        for reply, code in (('454 4.7.0 TLS not available\r\n', 454), ('501 5.5.4 no\r\n', 501),
                            ('550 5.7.0 no\r\n', 550)):
            with self.subTest(code=code):
                s = session([GREETING, ehlo('STARTTLS', 'AUTH PLAIN'), line('STARTTLS', reply), EOF],
                            tls='starttls', args=['--user', 'u', '--password', 'secret'])
                self.check(s, 'E_TLS_REQUIRED', 'STARTTLS', code, record=CLEAR_EHLO + b'STARTTLS\r\n')

    def test_non_220_success(self):                                      # case 3
        for reply in ('200 STRIPTLS\r\n', '250 OK\r\n', '220-multi\r\n220 line\r\n'):
            with self.subTest(reply=reply):
                s = session([GREETING, ehlo('STARTTLS'), line('STARTTLS', reply), {'read_all': True, 'timeout': 5}],
                            tls='starttls')
                self.assertIn(s.r.status, ('E_TLS_REQUIRED', 'E_PROTO'), s)
                self.assertEqual(s.r.stage, 'STARTTLS', s)
                # nothing after STARTTLS but, at most, QUIT
                self.assertIn(s.record, (CLEAR_EHLO + b'STARTTLS\r\n', CLEAR_EHLO + b'STARTTLS\r\nQUIT\r\n'), s)

    def test_ehlo_refused_no_helo_under_tls(self):                       # case 4
        s = session([GREETING, line('EHLO client.example', '500 5.5.1 unrecognized\r\n'), {'read_all': True,
                                                                                           'timeout': 5}],
                    tls='starttls')
        self.check(s, 'E_TLS_REQUIRED', 'EHLO')
        self.assertNotIn(b'HELO', s.record)
        self.assertIn(s.record, (CLEAR_EHLO, CLEAR_EHLO + b'QUIT\r\n'), s)

    def test_ehlo_refused_helo_when_plain(self):                         # case 4
        s = session([GREETING, line('EHLO client.example', '500 5.5.1 unrecognized\r\n'),
                     line('HELO client.example', '250 peer.test\r\n')] + transaction() + [QUIT])
        self.check(s, 'OK', 'END')

    def test_injection_after_220(self):                                  # SECURITY 2.1.4
        for inject in ('250-PIPELINING\r\n250 AUTH PLAIN\r\n', 'x', '\x16\x03\x01'):
            with self.subTest(inject=inject):
                s = session([GREETING, ehlo('STARTTLS'), {'expect_line': 'STARTTLS\r\n'},
                             {'inject_after_220': inject}, {'read_all': True, 'timeout': 5}], tls='starttls')
                self.check(s, 'E_PROTO', 'STARTTLS')
                # no ClientHello, no command: the client closed
                self.assertEqual(s.record, CLEAR_EHLO + b'STARTTLS\r\n', s)

    def test_capabilities_forgotten_after_tls(self):                     # SECURITY 2.1.5
        # before TLS: PIPELINING, SIZE, 8BITMIME, AUTH, CHUNKING, SMTPUTF8;
        # after: none. No SIZE=, no BODY=, no BDAT, no AUTH, no pipelining
        # (each reply is sent only once its command arrived alone).
        pre = ehlo('STARTTLS', 'PIPELINING', 'SIZE 10', '8BITMIME', 'AUTH PLAIN LOGIN', 'CHUNKING', 'SMTPUTF8')
        s = session([GREETING, pre, STARTTLS, {'starttls': True}, ehlo(),
                     {'expect_line': 'MAIL FROM:<a@example.com>\r\n'}, {'expect_nothing': 0.3},
                     {'send': '250 ok\r\n'}, {'expect_line': 'RCPT TO:<b@example.com>\r\n'},
                     {'expect_nothing': 0.3}, {'send': '250 ok\r\n'}, data_cmd(), data(wire_message(text='caf\u00e9\n')), QUIT],
                    tls='starttls', text='caf\u00e9\n')
        # 8-bit text without 8BITMIME after TLS: quoted-printable
        self.check(s, 'OK', 'END')

    def test_capabilities_learned_after_tls(self):
        # the reverse: nothing offered in clear, AUTH after TLS: used
        s = session([GREETING, ehlo('STARTTLS'), STARTTLS, {'starttls': True}, ehlo('AUTH PLAIN'),
                     line('AUTH PLAIN AHUAc2VjcmV0', '235 2.7.0 ok\r\n')] + transaction() + [QUIT],
                    tls='starttls', args=['--user', 'u', '--password', 'secret'])
        self.check(s, 'OK', 'END')

    def test_handshake_garbage_after_220(self):                          # case 11
        # the delay lets the client read the 220 alone and start TLS (bytes
        # arriving with the 220 are the injection case: E_PROTO, tested above)
        s = session([GREETING, ehlo('STARTTLS'), line('STARTTLS', '220 go\r\n'), {'delay': 0.3},
                     {'send': 'HTTP/1.1 400 Bad Request\r\n\r\n'}, {'read_all': True, 'timeout': 5}], tls='starttls')
        self.check(s, 'E_TLS_HANDSHAKE', 'TLS')
        # the ClientHello went out, then nothing in clear
        after = s.record.split(b'STARTTLS\r\n', 1)[1]
        self.assertTrue(after.startswith(b'\x16\x03'), s)
        self.assertNotIn(b'MAIL', after)
        self.assertNotIn(b'EHLO', after)

    def test_handshake_reset_after_220(self):                            # case 11
        s = session([GREETING, ehlo('STARTTLS'), line('STARTTLS', '220 go\r\n'), {'close': 'rst'}], tls='starttls')
        self.assertIn(s.r.status, ('E_TLS_HANDSHAKE', 'E_CLOSED'), s)
        self.assertEqual(s.r.stage, 'TLS', s)

    def test_certificates_refused(self):                                 # case 14
        for cert, status in (('wronghost', 'E_TLS_HOSTNAME'), ('expired', 'E_TLS_VERIFY'),
                             ('selfsigned', 'E_TLS_VERIFY')):
            with self.subTest(cert=cert):
                s = session([GREETING, ehlo('STARTTLS'), STARTTLS,
                             {'starttls': True, 'cert': cert, 'handshake': 'fail'}, {'read_all': True,
                                                                                  'timeout': 5}],
                            tls='starttls')
                # the record after STARTTLS is the decrypted stream: empty
                self.check(s, status, 'TLS', record=CLEAR_EHLO + b'STARTTLS\r\n')

    def test_old_tls_refused(self):                                      # case 18
        s = session([GREETING, ehlo('STARTTLS'), STARTTLS,
                     {'starttls': True, 'max_version': 'TLSv1_1', 'handshake': 'fail'},
                     {'read_all': True, 'timeout': 5}], tls='starttls')
        self.check(s, 'E_TLS_HANDSHAKE', 'TLS')

    def test_implicit_tls(self):
        s = session([{'starttls': True, 'expect_sni': 'localhost'}, GREETING, ehlo()] + transaction() + [QUIT],
                    tls='implicit')
        self.check(s, 'OK', 'END')

    def test_implicit_tls_to_plaintext_server(self):                     # case 13
        s = session([GREETING, {'read_all': True, 'timeout': 5}], tls='implicit')
        self.check(s, 'E_TLS_HANDSHAKE', 'TLS')
        self.assertTrue(s.record.startswith(b'\x16\x03'), s)   # a ClientHello, never SMTP
        self.assertNotIn(b'EHLO', s.record)

    def test_ip_literal_no_sni(self):                                    # case 17
        s = session([GREETING, ehlo('STARTTLS'), STARTTLS, {'starttls': True, 'expect_sni': None}, ehlo()]
                    + transaction() + [QUIT], tls='starttls', args=['--server-name', '127.0.0.1'])
        self.check(s, 'OK', 'END')

    def test_greeting_invalid_under_tls(self):                           # case 12
        for greet, status in (('hello\r\n', 'E_PROTO'), ('554 go away\r\n', 'E_REJ_PERM')):
            with self.subTest(greet=greet):
                s = session([{'send': greet}, {'read_all': True, 'timeout': 5}], tls='starttls',
                            args=['--user', 'u', '--password', 'secret'])
                self.assertEqual((s.r.status, s.r.stage), (status, 'GREETING'), s)
                self.assertNotIn(b'EHLO', s.record)
                self.assertNotIn(b'AUTH', s.record)


if __name__ == '__main__':
    unittest.main(verbosity=2)
