#!/usr/bin/python3
"""Adversarial cases, part 2: what reaches the wire. SMTP smuggling
payloads through a producer cut at every offset (the peer's record never
holds an early terminator or a bare CR/LF), injection attempts through the
public API (refused before any connection) and through a raw job (refused
before any byte of the transaction), 8-bit and NUL content, SIZE and
SMTPUTF8 refusals, source failure and drops during the data."""

import os
import re
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import itest  # noqa: E402
from peerlib import (EARLY_TERMINATORS, EOF, GREETING, MSG_ARGS, QUIT, RSET, bare_line_ends,  # noqa: E402
                     data, data_cmd, ehlo, happy, line, mail, rcpt, session, transaction, wire_message)

# Every smuggling variant of SECURITY-RULES 2.3 / cases 44-50, in one body.
SMUGGLE = (b'x\n.\ny\r.\rz\n.\r\nw\r\n.\nv\r\n.\r\nu\r.\r\nt\r\n.\r'
           b'MAIL FROM:<evil@example.com>\r\n.\r\n\r\n..\n.')


def wire_checks(tc, record, transactions):
    """The record of a whole session: only CRLF line ends, no early
    terminator, exactly one terminator per message."""
    tc.assertEqual(bare_line_ends(record), [], record[:3000])
    for t in EARLY_TERMINATORS:
        tc.assertIsNone(re.search(t, record), t)
    tc.assertEqual(record.count(b'\r\n.\r\n'), transactions, record[:3000])


class Smuggling(unittest.TestCase):

    def sweep(self, enc, extra=()):
        """One message per split offset of SMUGGLE, all on one connection."""
        n = len(SMUGGLE)
        args = ['--producer', '--sweep', '--encoding', enc] + list(extra)
        wire = wire_message(['--encoding', enc], text=SMUGGLE.decode('latin-1'))
        script = [GREETING, ehlo()]
        for i in range(n):
            script += ([RSET] if i else []) + transaction(wire)
        script += [QUIT]
        s = session(script, args=args, text=SMUGGLE.decode('latin-1'), timeout=30)
        self.assertEqual([x.status for x in s.results], ['OK'] * n, s)
        self.assertTrue(s.peer.ok, s)
        wire_checks(self, s.record, n)
        return wire

    def test_sweep_7bit(self):
        wire = self.sweep('7bit')
        body = wire.split(b'\r\n\r\n', 1)[1]
        # dot-stuffed lines, CRLF everywhere, the lone CR and LF made CRLF
        self.assertEqual(body, itest.crlf(SMUGGLE).replace(b'\r\n.', b'\r\n..') + b'\r\n.\r\n')

    def test_sweep_quoted_printable(self):
        self.sweep('qp')

    def test_one_byte_chunks_and_again(self):
        # one byte per call, and "no data now" between every byte
        for chunks in ('1', '0,1', '2,0,3'):
            with self.subTest(chunks=chunks):
                wire = wire_message(['--encoding', '7bit'], text=SMUGGLE.decode('latin-1'))
                s = session(happy(wire=wire), text=SMUGGLE.decode('latin-1'),
                            args=['--producer', '--encoding', '7bit', '--chunks', chunks])
                self.assertEqual(s.r.status, 'OK', s)
                wire_checks(self, s.record, 1)

    def test_buffer_body_with_payloads(self):
        wire = wire_message(text=SMUGGLE.decode('latin-1'))
        s = session(happy('PIPELINING', wire=wire), text=SMUGGLE.decode('latin-1'))
        self.assertEqual(s.r.status, 'OK', s)
        wire_checks(self, s.record, 1)

    def test_empty_and_unterminated_bodies(self):                       # case 49
        for text in ('', 'abc', 'abc\r\n', '.', '\r', '\n'):
            with self.subTest(text=text):
                wire = wire_message(text=text)
                s = session(happy(wire=wire), text=text)
                self.assertEqual(s.r.status, 'OK', s)
                wire_checks(self, s.record, 1)
                body = wire.split(b'\r\n\r\n', 1)[1]
                want = {'': b'.\r\n', 'abc': b'abc\r\n.\r\n', 'abc\r\n': b'abc\r\n.\r\n',
                        '.': b'..\r\n.\r\n', '\r': b'\r\n.\r\n', '\n': b'\r\n.\r\n'}[text]
                self.assertEqual(body, want)


class Injection(unittest.TestCase):
    """Through the public API: refused by the setter, no connection."""

    def refused_without_connection(self, args, status, setter):
        lst = socket.socket()
        lst.bind(('127.0.0.1', 0))
        lst.listen(1)
        try:
            a = ['--host', '127.0.0.1', '--port', lst.getsockname()[1], '--tls', 'none',
                 '--text-data', 'x'] + args
            r = itest.run(a)
            self.assertEqual((r.r.status, r.r.stage, r.r.text), (status, 'NONE', 'refused by ' + setter), r)
            self.assertTrue(itest.no_connection(lst), 'itool connected')
        finally:
            lst.close()

    def test_envelope(self):                                             # cases 20, 21, 23, 24
        base = ['--from', 'a@example.com']
        bad_rcpt = ['b@example.com\r\nRSET', 'b@example.com\nRSET', 'b@example.com\rRSET',
                    'b@exa\x1bmple.com', 'b@example.com\x7f', '<b@example.com> NOTIFY=SUCCESS\r\nRSET',
                    '<<b@example.com>>', 'b@example.com>x', 'b <b@example.com>', 'a b@example.com',
                    '', 'no-at-sign', 'x' * 65 + '@example.com', 'b@' + 'd' * 250 + '.com']
        for a in bad_rcpt:
            with self.subTest(rcpt=a):
                self.refused_without_connection(base + ['--to', a], 'E_ADDRESS', 'add_recipient(to)')
        for a in ('sender@example.com\r\nDATA', 'sender@example.com\n', '<s@example.com>', 's@exa mple.com'):
            with self.subTest(sender=a):
                self.refused_without_connection(['--from', a, '--to', 'b@example.com'], 'E_ADDRESS', 'set_from')
        # at the limits: accepted (64-octet local part)
        r = itest.dry_run(['--from', 'x' * 64 + '@example.com', '--to', 'b@example.com', '--text-data', 'x'])
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_headers(self):                                              # cases 28-30, 35
        base = ['--from', 'a@example.com', '--to', 'b@example.com']
        cases = [
            (['--subject', 'x\r\nBcc: evil@example.com'], 'set_subject'),
            (['--subject', 'x\nBcc: evil@example.com'], 'set_subject'),
            (['--subject', 'x\rBcc: evil@example.com'], 'set_subject'),
            (['--subject', 'x\x01y'], 'set_subject'),
            (['--from', 'a@example.com', '--from-name', 'Eve\r\nBcc: evil@example.com'], 'set_from'),
            (['--header', 'X Bad: v'], 'add_header'),
            (['--header', 'X:Bad: v'], 'add_header'),
            (['--header', 'X-\r\nBcc: v'], 'add_header'),
            (['--header', '\u00c4: v'], 'add_header'),
            (['--header', ': v'], 'add_header'),
            (['--header', 'X-Ok: a\r\nBcc: evil@example.com'], 'add_header'),
            (['--header', 'X-Ok: a\nb'], 'add_header'),
            (['--header', 'From: x@example.com'], 'add_header'),
            (['--header', 'to: x@example.com'], 'add_header'),
            (['--header', 'SUBJECT: again'], 'add_header'),
            (['--header', 'bcc: x@example.com'], 'add_header'),
            (['--header', 'Content-Type: text/html'], 'add_header'),
            (['--header', 'MIME-Version: 2.0'], 'add_header'),
            (['--text-type', 'text/plain; charset="x"\r\nBcc: y'], 'part_set_type(text)'),
            (['--text-type', 'text/plain\r\nBcc: y'], 'part_set_type(text)'),
        ]
        for args, setter in cases:
            with self.subTest(args=args):
                self.refused_without_connection(base + args, 'E_HEADER', setter)

    def test_pre_encoded_and_filenames_stay_inside_their_field(self):   # cases 28, 34
        f = itest.Files()
        try:
            att = f.make('a.bin', b'data')
            subject = '=?utf-8?q?a=0D=0ABcc:_evil@example.com?='
            names = ['a"b.txt', 'a\\b";.txt', '../../etc/passwd', 'r\u00e9sum\u00e9.pdf',
                     'semi;colon=eq.txt', "it's (1).txt"]
            for name in names:
                with self.subTest(name=name):
                    p = itest.dry_run(MSG_ARGS + ['--subject', subject, '--text-data', 'x', '--attach', att,
                                                  '--name', name])
                    self.assertEqual(p.returncode, 0, p.stderr)
                    msg = itest.parse(p.stdout)
                    self.assertEqual(msg['subject'], subject)
                    self.assertIsNone(msg['bcc'])
                    [a] = list(msg.iter_attachments())
                    # the last path component ('/' or '\\' separated)
                    self.assertEqual(a.get_filename(), name.replace('\\', '/').split('/')[-1])
                    self.assertEqual(a.get_payload(decode=True), b'data')
                    self.assertEqual(bare_line_ends(p.stdout), [])
            for name in ('a\r\nX-Injected: y.txt', 'a\nb', 'a\x01b', 'x\tTAB.txt'):
                with self.subTest(name=name):
                    p = itest.dry_run(MSG_ARGS + ['--text-data', 'x', '--attach', att, '--name', name])
                    out = p.stdout
                    if p.returncode == 0:   # encoded rather than refused: still no new line
                        self.assertNotIn(b'\nX-Injected', out)
                        self.assertEqual(bare_line_ends(out), [])
                    else:
                        self.assertIn(b'status=E_HEADER', out)
        finally:
            f.cleanup()

    def test_raw_job_refused_before_any_byte(self):                      # cases 20, 21 (engine over a socket)
        for field, value, status in (('--raw-mail-from', 'a@example.com\r\nRSET', 'E_ADDRESS'),
                                     ('--raw-rcpt', '<b@example.com> NOTIFY=SUCCESS\r\nRSET', 'E_ADDRESS'),
                                     ('--raw-rcpt', 'b@example.com\x00', 'E_ADDRESS'),
                                     ('--raw-rcpt', 'b@exa\x7fmple.com', 'E_ADDRESS'),
                                     ('--raw-mail-from', 'a@b>x', 'E_ADDRESS')):
            if '\x00' in value:
                continue   # argv cannot carry NUL (the engine's unit tests do)
            with self.subTest(field=field, value=value):
                s = session([GREETING, ehlo('PIPELINING'), QUIT, EOF], args=[field, value])
                self.assertEqual((s.r.status, s.r.stage), (status, 'NONE'), s)
                self.assertEqual(s.run.session, 'OK')
                self.assertEqual(s.record, b'EHLO client.example\r\nQUIT\r\n', s)


class Content(unittest.TestCase):
    """What the body looks like on the wire for servers with and without
    8BITMIME, with NUL bytes, and the envelope checks before MAIL."""

    def test_8bit_without_8bitmime(self):                                # case 38
        text = 'Gr\u00fc\u00dfe \u2603\n'
        s = session(happy(wire=wire_message(text=text)), text=text)
        self.assertEqual(s.r.status, 'OK', s)
        self.assertTrue(all(b < 0x80 for b in s.record), s)

    def test_8bit_with_8bitmime(self):
        text = 'Gr\u00fc\u00dfe \u2603\n'
        s = session([GREETING, ehlo('8BITMIME'), mail(params=' BODY=8BITMIME'), rcpt(), data_cmd(),
                     data(), QUIT], text=text)
        self.assertEqual(s.r.status, 'OK', s)
        self.assertIn('Grüße ☃'.encode(), s.record)
        self.assertIn(b'Content-Transfer-Encoding: 8bit', s.record)

    def test_nul_in_text(self):                                          # case 39
        f = itest.Files()
        try:
            path = f.make('nul.txt', b'a\0b\r\n.\r\n')
            s = session([GREETING, ehlo(), mail(), rcpt(), data_cmd(), data(), QUIT], text=None,
                        args=['--text', path])
            self.assertEqual(s.r.status, 'OK', s)
            self.assertNotIn(b'\0', s.record)
            self.assertIn(b'Content-Transfer-Encoding: base64', s.record)
        finally:
            f.cleanup()

    def test_size_limit_before_mail(self):
        s = session([GREETING, ehlo('SIZE 100'), QUIT, EOF])
        self.assertEqual((s.r.status, s.r.stage), ('E_SIZE', 'NONE'), s)
        self.assertEqual(s.record, b'EHLO client.example\r\nQUIT\r\n')

    def test_smtputf8_needed(self):
        s = session([GREETING, ehlo('8BITMIME'), QUIT, EOF], args=['--to', 'j\u00fcrgen@example.com'])
        self.assertEqual(s.r.status, 'E_SMTPUTF8', s)
        self.assertEqual(s.record, b'EHLO client.example\r\nQUIT\r\n')

    def test_smtputf8_needed_for_header_only_address(self):
        s = session([GREETING, ehlo('8BITMIME'), QUIT, EOF],
                    args=['--from', 'j\u00fcrgen@example.com', '--envelope-from', 'a@example.com'])
        self.assertEqual(s.r.status, 'E_SMTPUTF8', s)
        self.assertEqual(s.record, b'EHLO client.example\r\nQUIT\r\n')

    def test_smtputf8_offered(self):
        s = session([GREETING, ehlo('8BITMIME', 'SMTPUTF8'),
                     {'expect_re': '(?i)MAIL FROM:<a@example.com>( BODY=8BITMIME)? SMTPUTF8( BODY=8BITMIME)?',
                      'reply': '250 ok\r\n'},
                     rcpt('j\u00fcrgen@example.com'.encode().decode('latin-1')), data_cmd(), data(), QUIT],
                    args=['--to', 'j\u00fcrgen@example.com'])
        self.assertEqual(s.r.status, 'OK', s)


class DataPhase(unittest.TestCase):
    """Failures around and inside the data."""

    def test_source_failure_mid_data(self):                              # case 79
        text = ('line %d .\n' % 1) * 3000
        s = session([GREETING, ehlo(), mail(), rcpt(), data_cmd(), {'read_all': True, 'timeout': 8}],
                    text=text, args=['--producer', '--no-rewind', '--fail-after', '10000'])
        self.assertEqual((s.r.status, s.r.stage), ('E_SOURCE', 'BODY'), s)
        after = s.record.split(b'DATA\r\n', 1)[1]
        self.assertGreater(len(after), 5000)        # data went out before the failure
        self.assertNotIn(b'\r\n.\r\n', b'\r\n' + after)   # never the terminator
        self.assertFalse(after.endswith(b'QUIT\r\n') or after.endswith(b'RSET\r\n'), after[-50:])
        self.assertTrue(s.peer.ok, s)               # and the client closed

    def test_source_failure_at_once(self):
        s = session([GREETING, ehlo(), mail(), rcpt(), data_cmd(), {'read_all': True, 'timeout': 8}],
                    args=['--producer', '--no-rewind', '--fail-after', '0'])
        self.assertEqual((s.r.status, s.r.stage), ('E_SOURCE', 'BODY'), s)
        self.assertEqual(s.record.split(b'DATA\r\n', 1)[1], b'', s)

    def test_lost_final_reply(self):                                     # SECURITY 2.6 last rule
        for end in ({'close': 'fin'}, {'close': 'rst'}):
            with self.subTest(end=end):
                s = session([GREETING, ehlo(), mail(), rcpt(), data_cmd(),
                             {'expect_data': True}, end])
                self.assertEqual((s.r.status, s.r.stage), ('E_DELIVERY_UNKNOWN', 'END'), s)

    def test_final_reply_timeout(self):
        s = session([GREETING, ehlo(), mail(), rcpt(), data_cmd(), {'expect_data': True},
                     {'expect_eof': True, 'timeout': 8}], args=['--timeout-ms', '1000'])
        self.assertEqual((s.r.status, s.r.stage), ('E_DELIVERY_UNKNOWN', 'END'), s)

    def test_close_during_body(self):                                    # case 75
        f = itest.Files()
        try:
            big = f.make('big.bin', os.urandom(3 * 1024 * 1024))
            for end in ({'close': 'rst'}, {'close': 'fin'}):
                with self.subTest(end=end):
                    s = session([GREETING, ehlo(), mail(), rcpt(), data_cmd(), {'delay': 0.1}, end],
                                args=['--attach', big])
                    # no SIGPIPE death: itool reports (rc 1) instead of dying
                    self.assertEqual(s.run.rc, 1)
                    if s.r.status == 'E_DELIVERY_UNKNOWN':
                        # after a FIN the client may have handed every byte
                        # to the kernel before it noticed: then, and only
                        # then, the outcome is unknown
                        self.assertEqual(end, {'close': 'fin'})
                        self.assertEqual(s.r.stage, 'END', s)
                        self.assertGreater(s.r.bytes, 4 * 1024 * 1024, s)
                    else:
                        self.assertIn(s.r.status, ('E_CLOSED', 'E_IO'), s)
                        self.assertEqual(s.r.stage, 'BODY', s)
        finally:
            f.cleanup()

    def test_no_data_before_354(self):                                   # SECURITY 2.6 "only after 354"
        # a refusal: RSET and QUIT, never the content
        for reply, status in (('554 no\r\n', 'E_REJ_PERM'), ('451 later\r\n', 'E_REJ_TEMP')):
            with self.subTest(reply=reply):
                s = session([GREETING, ehlo(), mail(), rcpt(), line('DATA', reply), RSET, QUIT, EOF])
                self.assertEqual((s.r.status, s.r.stage), (status, 'DATA'), s)
                self.assertTrue(s.peer.ok, s)
        # a 2xx where 354 belongs: a protocol error, the connection is dropped
        s = session([GREETING, ehlo(), mail(), rcpt(), line('DATA', '250 ok\r\n'), EOF])
        self.assertEqual((s.r.status, s.r.stage), ('E_PROTO', 'DATA'), s)
        self.assertTrue(s.record.endswith(b'DATA\r\n'), s)


if __name__ == '__main__':
    unittest.main(verbosity=2)
