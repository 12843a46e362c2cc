#!/usr/bin/python3
"""Adversarial cases, part 3: hostile replies over a real socket.
Fragmented, merged, malformed, inconsistent, truncated and overlong
replies (cases 53, 56, 58-60, 64), 421 at every stage (67, 74), partial
recipients and the mapping of pipelined replies (69, RFC 2920), AUTH
edge cases with the trace checked for secrets (81-88), and deadlines."""

import base64
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import itest  # noqa: E402
from peerlib import (EOF, GREETING, QUIT, RSET, data, data_cmd, ehlo, ehlo_reply, happy, line,  # noqa: E402
                     mail, rcpt, session, transaction, wire_message)

EHLO_LINE = 'EHLO client.example\r\n'


def reply_steps(expect, reply, split):
    """Expect a line, then send the reply cut as asked."""
    return [{'expect_line': expect}, dict({'send': reply}, **split)]


def fragmented_session(split):
    s = [dict({'send': '220-peer.test first line\r\n220 second line\r\n'}, **split)]
    s += reply_steps(EHLO_LINE, ehlo_reply('PIPELINING', 'SIZE 1000000', 'ENHANCEDSTATUSCODES'), split)
    s += [{'expect': 'MAIL FROM:<a@example.com> SIZE='}, {'expect_line': 'RCPT TO:<b@example.com>\r\n'},
          {'expect_line': 'DATA\r\n'},
          dict({'send': '250-2.1.0 sender\r\n250 2.1.0 ok\r\n250 2.1.5 rcpt ok\r\n354 go\r\n'}, **split),
          {'expect_data': True, 'data': wire_message().decode('latin-1')},
          dict({'send': '250-2.0.0 queued as\r\n250 2.0.0 X1\r\n'}, **split),
          {'expect_line': 'QUIT\r\n'}, dict({'send': '221 bye\r\n'}, **split)]
    return s


class Replies(unittest.TestCase):

    def test_fragmentation(self):                                        # case 53
        for split in ({'split': 'each', 'split_delay': 0.002}, {'split': [1, 3, 4, 5, 9, 17, 24, 30, 41]},
                      {'split': [2, 25, 26, 27]}, {}):
            with self.subTest(split=split):
                s = session(fragmented_session(split))
                # enhanced code parsed (ENHANCEDSTATUSCODES offered); the text keeps it
                self.assertEqual((s.r.status, s.r.code, s.r.enh, s.r.text), ('OK', 250, '2.0.0', '2.0.0 queued as'),
                                 s)
                self.assertTrue(s.peer.ok, s)

    def test_malformed_greetings(self):                                  # case 56
        for greet in ('2x0 ok\r\n', '22 ok\r\n', '220ok\r\n', ' 220 ok\r\n', '+22 ok\r\n', '-22 ok\r\n',
                      '0220 ok\r\n', '2200 ok\r\n', '220\tok\r\n', '\r\n', '620 ok\r\n', '170 ok\r\n',
                      '2\x0020 ok\r\n', '220 ok\n'):
            with self.subTest(greet=greet):
                s = session([{'send': greet}, {'read_all': True, 'timeout': 5}])
                self.assertEqual((s.r.status, s.r.stage), ('E_PROTO', 'GREETING'), s)
                self.assertEqual(s.record, b'', s)

    def test_greeting_cut_by_eof(self):                                  # case 56, 60
        for greet, end in (('220', 'fin'), ('220 ok', 'fin'), ('220-a\r\n', 'fin'), ('220-', 'rst'),
                           ('', 'fin')):
            with self.subTest(greet=greet, end=end):
                # the delay: an immediate RST can beat the client's connect()
                steps = [{'send': greet}, {'delay': 0.3}] if greet else []
                s = session(steps + [{'close': end}])
                self.assertEqual((s.r.status, s.r.stage), ('E_CLOSED', 'GREETING'), s)

    def test_minimal_replies(self):                                      # case 58
        s = session([{'send': '220\r\n'}, line('EHLO client.example', '250\r\n'),
                     line('MAIL FROM:<a@example.com>', '250 \r\n'), line('RCPT TO:<b@example.com>', '250-\r\n250 \r\n'),
                     data_cmd('354\r\n'), data(wire_message(), '250\r\n'), line('QUIT', '221\r\n')])
        self.assertEqual((s.r.status, s.r.code, s.r.text), ('OK', 250, ''), s)

    def test_inconsistent_multiline(self):                               # case 59
        s = session([GREETING, ehlo(), line('MAIL FROM:<a@example.com>', '250-ok\r\n550 no\r\n'), EOF])
        self.assertEqual((s.r.status, s.r.stage), ('E_PROTO', 'MAIL'), s)
        s = session([{'send': '220-a\r\n554 b\r\n'}, EOF])
        self.assertEqual((s.r.status, s.r.stage), ('E_PROTO', 'GREETING'), s)

    def test_truncated_multiline(self):                                  # case 60
        for tail, end in (('250-a\r\n', 'fin'), ('250-', 'rst'), ('250-a\r\n250', 'fin')):
            with self.subTest(tail=tail, end=end):
                s = session([GREETING, ehlo(), {'expect_line': 'MAIL FROM:<a@example.com>\r\n'},
                              {'send': tail}, {'close': end}])
                self.assertEqual((s.r.status, s.r.stage), ('E_CLOSED', 'MAIL'), s)

    def test_overlong(self):                                             # SECURITY 2.6 caps
        for name, reply in (('one 5000-byte line', '220 ' + 'a' * 5000 + '\r\n'),
                            ('one 70000-byte line', '220 ' + 'b' * 70000 + '\r\n'),
                            ('5000 lines', '220-x\r\n' * 5000 + '220 x\r\n')):
            with self.subTest(name=name):
                s = session([{'send': reply}, {'read_all': True, 'timeout': 5}])
                self.assertEqual((s.r.status, s.r.stage), ('E_REPLY_TOO_LONG', 'GREETING'), s)
                self.assertEqual(s.record, b'')

    def test_long_but_allowed_ehlo(self):                                # case 64
        caps = ['X-CAP-%03d %s' % (i, 'p' * 40) for i in range(100)] + ['PIPELINING', 'auth plain LOGIN',
                                                                        'AUTH=LOGIN', 'AUTHX CRAM-MD5']
        s = session([GREETING, ehlo(*caps), mail(), rcpt(), data_cmd(), data(), QUIT])
        self.assertEqual(s.r.status, 'OK', s)
        self.assertTrue(s.peer.ok, s)

    def test_huge_auth_line_is_bounded(self):                            # case 64
        mechs = ' '.join('MECH%d' % i for i in range(2000))   # ~20 KB
        s = session([GREETING, line('EHLO client.example', '250-peer.test\r\n250 AUTH %s PLAIN\r\n' % mechs),
                     {'read_all': True, 'timeout': 5}])
        self.assertEqual((s.r.status, s.r.stage), ('E_REPLY_TOO_LONG', 'EHLO'), s)

    def test_unsolicited_421(self):                                      # SECURITY 2.6 (421 any time)
        s = session([{'send': '220 peer.test\r\n421 4.3.2 going down\r\n'}, {'read_all': True, 'timeout': 5}])
        self.assertEqual((s.r.status, s.r.code), ('E_SERVER_SHUTDOWN', 421), s)


def rcpt_args(*addrs):
    a = []
    for x in addrs:
        a += ['--to', x]
    return a


class Stages(unittest.TestCase):
    """421 (and other refusals) at each stage: status, stage, nothing
    after (the connection is closed by the client, no QUIT needed)."""

    def shutdown_at(self, steps, stage, args=(), tls='none'):
        s = session(steps + [{'send': '421 4.3.0 shutting down\r\n'}, EOF], args=args, tls=tls)
        self.assertEqual((s.r.status, s.r.stage, s.r.code), ('E_SERVER_SHUTDOWN', stage, 421), s)
        self.assertTrue(s.peer.ok, s)   # the client closed, sent nothing more
        return s

    def test_421_everywhere(self):                                       # cases 67, 74
        E = {'expect_line': EHLO_LINE}
        M = {'expect_line': 'MAIL FROM:<a@example.com>\r\n'}
        R = {'expect_line': 'RCPT TO:<b@example.com>\r\n'}
        D = {'expect_line': 'DATA\r\n'}
        self.shutdown_at([], 'GREETING')
        self.shutdown_at([GREETING, E], 'EHLO')
        self.shutdown_at([GREETING, ehlo('STARTTLS'), {'expect_line': 'STARTTLS\r\n'}], 'STARTTLS', tls='starttls')
        self.shutdown_at([GREETING, ehlo('AUTH PLAIN'), {'expect': 'AUTH PLAIN '}], 'AUTH',
                         args=['--user', 'u', '--password', 'p', '--allow-plaintext-auth'])
        self.shutdown_at([GREETING, ehlo(), M], 'MAIL')
        self.shutdown_at([GREETING, ehlo(), mail(), R], 'RCPT')
        self.shutdown_at([GREETING, ehlo(), mail(), rcpt(), D], 'DATA')
        # after the data: not delivered, and said so
        self.shutdown_at([GREETING, ehlo(), mail(), rcpt(), data_cmd(), {'expect_data': True}], 'END')

    def test_421_mid_rcpt_group(self):                                   # case 74
        s = session([GREETING, ehlo('PIPELINING'), {'expect': 'MAIL'}, {'expect': 'RCPT TO:<b1'},
                     {'expect': 'RCPT TO:<b2'}, {'expect': 'RCPT TO:<b3'}, {'expect_line': 'DATA\r\n'},
                     {'send': '250 ok\r\n250 ok\r\n421 4.3.0 bye\r\n'}, EOF],
                    args=rcpt_args('b1@example.com', 'b2@example.com', 'b3@example.com'))
        self.assertEqual((s.r.status, s.r.stage), ('E_SERVER_SHUTDOWN', 'RCPT'), s)
        self.assertNotIn(b'Subject', s.record)

    def test_421_to_rset_between_messages(self):
        s = session([GREETING, ehlo()] + transaction() + [{'expect_line': 'RSET\r\n'},
                                                           {'send': '421 4.3.0 bye\r\n'}, EOF],
                    args=['--repeat', '2'])
        # the RSET leads the second message: that one carries the 421
        self.assertEqual([(x.status, x.stage) for x in s.results], [('OK', 'END'), ('E_SERVER_SHUTDOWN', 'RSET')],
                         s)
        self.assertEqual(s.run.session, 'E_SERVER_SHUTDOWN')

    def test_greeting_554(self):                                         # case 67
        s = session([{'send': '554 5.3.2 no service\r\n'}, {'read_all': True, 'timeout': 5}])
        self.assertEqual((s.r.status, s.r.stage, s.r.code), ('E_REJ_PERM', 'GREETING', 554), s)
        self.assertNotIn(b'EHLO', s.record)

    def test_greeting_554_quits(self):                                   # case 67
        s = session([{'send': '554 5.3.2 no service\r\n'}, QUIT, EOF])
        self.assertEqual((s.r.status, s.r.stage, s.r.code), ('E_REJ_PERM', 'GREETING', 554), s)
        self.assertEqual(s.record, b'QUIT\r\n', s)

    def test_timeouts(self):                                             # SECURITY 2.6 deadlines
        s = session([{'delay': 3}], args=['--timeout-ms', '500'])
        self.assertEqual((s.r.status, s.r.stage), ('E_TIMEOUT', 'GREETING'), s)
        s = session([GREETING, ehlo(), {'expect': 'MAIL'}, {'delay': 3}], args=['--timeout-ms', '500'])
        self.assertEqual((s.r.status, s.r.stage), ('E_TIMEOUT', 'MAIL'), s)
        # a server that trickles a reply byte by byte, too slowly: the
        # deadline is per reply, not per read
        s = session([GREETING, ehlo(), {'expect': 'MAIL'},
                     {'send': '250 ' + 'x' * 40 + '\r\n', 'split': 'each', 'split_delay': 0.05}],
                    args=['--timeout-ms', '700'])
        self.assertEqual((s.r.status, s.r.stage), ('E_TIMEOUT', 'MAIL'), s)


class Recipients(unittest.TestCase):

    def test_partial_serial(self):                                       # case 69
        s = session([GREETING, ehlo(), mail(), rcpt('b1@example.com'), rcpt('b2@example.com', '550 5.1.1 no\r\n'),
                     rcpt('b3@example.com', '451 4.2.0 later\r\n'), data_cmd(), data(), QUIT],
                    args=rcpt_args('b1@example.com', 'b2@example.com', 'b3@example.com'))
        self.assertEqual((s.r.status, s.r.rcpt_ok, s.r.rcpt_failed), ('E_PARTIAL', 1, 2), s)
        self.assertEqual(s.run.rcpt, [(0, 250), (1, 550), (2, 451)])

    def test_pipelined_mapping(self):                                    # RFC 2920: strictly in order
        codes = [550, 250, 452, 250, 551]
        addrs = ['r%d@example.com' % i for i in range(5)]
        replies = '250 2.1.0 sender ok\r\n' + ''.join('%d x\r\n' % c for c in codes) + '354 go\r\n'
        s = session([GREETING, ehlo('PIPELINING'), {'expect': 'MAIL FROM:<a@example.com>'}]
                    + [{'expect_line': 'RCPT TO:<%s>\r\n' % a} for a in addrs]
                    + [{'expect_line': 'DATA\r\n'}, {'send': replies, 'split': [7, 30, 31]},
                       data(), QUIT], args=rcpt_args(*addrs))
        self.assertEqual((s.r.status, s.r.rcpt_ok, s.r.rcpt_failed), ('E_PARTIAL', 2, 3), s)
        self.assertEqual(s.run.rcpt, list(enumerate(codes)))
        self.assertTrue(s.peer.ok, s)

    def test_all_refused_serial(self):                                   # case 69: no DATA
        s = session([GREETING, ehlo(), mail(), rcpt('b1@example.com', '550 no\r\n'),
                     rcpt('b2@example.com', '451 later\r\n'), RSET, QUIT, EOF],
                    args=rcpt_args('b1@example.com', 'b2@example.com'))
        self.assertIn(s.r.status, ('E_REJ_TEMP', 'E_REJ_PERM'), s)
        self.assertEqual((s.r.stage, s.r.code), ('RCPT', 451), s)
        self.assertNotIn(b'DATA', s.record)

    def test_all_refused_pipelined_data_354(self):                       # go-smtp #203
        # DATA was already sent; the server says 354 anyway: an empty
        # message, never the content
        s = session([GREETING, ehlo('PIPELINING'), {'expect': 'MAIL'}, {'expect': 'RCPT'},
                     {'expect_line': 'DATA\r\n'}, {'send': '250 ok\r\n550 no\r\n354 go\r\n'},
                     {'expect_data': True, 'data': '.\r\n', 'reply': '554 no valid recipients\r\n'},
                     RSET, QUIT, EOF])
        self.assertEqual((s.r.status, s.r.stage, s.r.code), ('E_REJ_PERM', 'RCPT', 550), s)
        self.assertNotIn(b'Subject', s.record)

    def test_mail_refused_pipelined(self):
        s = session([GREETING, ehlo('PIPELINING'), {'expect': 'MAIL'}, {'expect': 'RCPT'},
                     {'expect_line': 'DATA\r\n'},
                     {'send': '550 5.7.1 sender refused\r\n503 5.5.1 no sender\r\n503 5.5.1 no rcpt\r\n'},
                     RSET, QUIT, EOF])
        # no ENHANCEDSTATUSCODES offered: the enhanced code stays in the text
        self.assertEqual((s.r.status, s.r.stage, s.r.code, s.r.enh, s.r.text),
                         ('E_REJ_PERM', 'MAIL', 550, '0.0.0', '5.7.1 sender refused'), s)
        self.assertNotIn(b'Subject', s.record)


# ---------------------------------------------------------------- AUTH

USER, PASSWORD = 'user@example.com', 'S3cr3t pa55\u00e9'


def secret_forms():
    pw = PASSWORD.encode()
    return [pw, base64.b64encode(pw), base64.b64encode(b'\0' + USER.encode() + b'\0' + pw), b'S3cr3t']


class Auth(unittest.TestCase):

    def auth_session(self, steps, mech, extra=(), after=None):
        f = itest.Files()
        trace = os.path.join(f.dir, 'trace')
        try:
            script = [GREETING, ehlo('AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2')] + steps
            script += after if after is not None else transaction() + [QUIT]
            s = session(script, args=['--user', USER, '--password', PASSWORD, '--allow-plaintext-auth',
                                      '--auth', mech, '--trace', trace] + list(extra))
            with open(trace, 'rb') as fh:
                s.trace = fh.read()
        finally:
            f.cleanup()
        for form in secret_forms():                                      # case 88
            self.assertNotIn(form, s.trace)
            self.assertNotIn(form, s.run.out)
        return s

    def test_plain(self):                                                # case 81
        ir = base64.b64encode(b'\0' + USER.encode() + b'\0' + PASSWORD.encode()).decode()
        s = self.auth_session([line('AUTH PLAIN ' + ir, '235 2.7.0 ok\r\n')], 'plain')
        self.assertEqual(s.r.status, 'OK', s)
        self.assertIn(b'> AUTH PLAIN <redacted>', s.trace)

    def test_login_odd_prompts(self):                                    # case 83: steps by count
        u = base64.b64encode(USER.encode()).decode()
        p = base64.b64encode(PASSWORD.encode()).decode()
        for p1, p2 in (('334 VXNlcm5hbWU6\r\n', '334 UGFzc3dvcmQ6\r\n'), ('334 d2hvPw==\r\n', '334 ISEh\r\n'),
                       ('334\r\n', '334 \r\n'), ('334 UGFzc3dvcmQ6\r\n', '334 VXNlcm5hbWU6\r\n')):
            with self.subTest(prompts=(p1, p2)):
                s = self.auth_session([{'expect_line': 'AUTH LOGIN\r\n', 'reply': p1},
                                       line(u, p2), line(p, '235 ok\r\n')], 'login')
                self.assertEqual(s.r.status, 'OK', s)
        # a prompt that is not base64 at all: cancelled with "*" (RFC 4954 section 4)
        s = self.auth_session([line('AUTH LOGIN', '334 who?\r\n'), line('*', '501 5.7.0 cancelled\r\n')],
                              'login', after=[QUIT, EOF])
        self.assertEqual((s.r.status, s.r.stage), ('E_AUTH', 'AUTH'), s)

    def test_login_extra_rounds(self):                                   # case 83
        u = base64.b64encode(USER.encode()).decode()
        p = base64.b64encode(PASSWORD.encode()).decode()
        s = self.auth_session([line('AUTH LOGIN', '334 VXNlcm5hbWU6\r\n'), line(u, '334 UGFzc3dvcmQ6\r\n'),
                               line(p, '334 more?\r\n'), line('*', '501 5.7.0 cancelled\r\n')], 'login',
                              after=[QUIT, EOF])
        self.assertEqual((s.r.status, s.r.stage), ('E_AUTH', 'AUTH'), s)

    def test_auth_replies(self):                                         # case 86
        ir = base64.b64encode(b'\0' + USER.encode() + b'\0' + PASSWORD.encode()).decode()
        # a refused AUTH ends the session: mailout closes (no QUIT)
        for reply, status, after in (('235-ok\r\n235 ok\r\n', 'OK', None),
                                     ('454 4.7.0 temporary\r\n', 'E_AUTH_TEMP', [EOF]),
                                     ('534 5.7.9 weak\r\n', 'E_AUTH', [EOF]),
                                     ('535 5.7.8 bad\r\n', 'E_AUTH', [EOF]),
                                     ('421 4.3.0 bye\r\n', 'E_SERVER_SHUTDOWN', [EOF])):
            with self.subTest(reply=reply):
                s = self.auth_session([line('AUTH PLAIN ' + ir, reply)], 'plain', after=after)
                self.assertEqual(s.r.status, status, s)
                self.assertTrue(s.peer.ok, s)
        # 250 is not 235: never success, and no MAIL follows
        s = self.auth_session([line('AUTH PLAIN ' + ir, '250 ok\r\n')], 'plain',
                              after=[{'read_all': True, 'timeout': 5}])
        self.assertNotEqual(s.r.status, 'OK', s)
        self.assertNotIn(b'MAIL', s.record)

    def test_cram_md5_and_xoauth2_redacted(self):
        s = self.auth_session([line('AUTH CRAM-MD5', '334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UuZXhhbXBsZS5uZXQ+\r\n'),
                               {'expect_re': '[A-Za-z0-9+/=]+', 'reply': '235 ok\r\n'}], 'cram-md5')
        self.assertEqual(s.r.status, 'OK', s)
        self.assertNotIn(base64.b64encode(USER.encode()), s.trace)
        token = 'ya29.SECRET-TOKEN-123'
        ir = base64.b64encode(('user=%s\x01auth=Bearer %s\x01\x01' % (USER, token)).encode()).decode()
        s = self.auth_session([line('AUTH XOAUTH2 ' + ir, '334 eyJzdGF0dXMiOiI0MDEifQ==\r\n'),
                               line('', '535 5.7.8 no\r\n')], 'xoauth2', extra=['--oauth-token', token],
                              after=[QUIT, EOF])
        self.assertEqual(s.r.status, 'E_AUTH', s)
        for form in (token.encode(), ir.encode()):
            self.assertNotIn(form, s.trace)


if __name__ == '__main__':
    unittest.main(verbosity=2)
