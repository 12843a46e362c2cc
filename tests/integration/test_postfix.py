#!/usr/bin/python3
"""mailout against a real Postfix 3.7 (one private instance for the whole
file, STARTTLS with the test CA, smtpd_forbid_bare_newline = reject):
messages sent through itool (mailout_send) arrive byte-exact, as Debian's
Python email parser reads them back from the Maildir: every attachment's
decoded bytes, every file name (non-ASCII, RFC 2231), the subject (RFC
2047), text bodies full of dots, bare LFs, bare CRs and long lines. Also
the implicit-TLS and the encrypt-only ports, the SIZE limit, Bcc privacy."""

import os
import random
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import itest  # noqa: E402
from itest import servers  # noqa: E402

SIZE_LIMIT = 12 * 1024 * 1024


class PostfixDelivery(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.pf = servers.Postfix(size_limit=SIZE_LIMIT, lifetime=200)
        cls.pf.__enter__()
        cls.files = itest.Files()
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.pf.__exit__(None, None, None)
        cls.files.cleanup()

    # ---------------------------------------------------------------- helpers

    def send(self, args, port=None, tls='starttls', to=('rcpt@example.com',), expect='OK'):
        """Send one message with a unique Message-ID; return (run, id)."""
        type(self).n += 1
        mid = '<t%d.%d@itest.example>' % (self.n, os.getpid())
        a = ['--host', '127.0.0.1', '--port', port or self.pf.port, '--tls', tls,
             '--cafile', servers.ca_file(), '--server-name', 'localhost',
             '--ehlo', 'client.example', '--from', 'sender@example.com',
             '--message-id', mid, '--timeout-ms', 20000]
        for t in to:
            a += ['--to', t]
        r = itest.run(a + list(args))
        self.assertTrue(r.results, r)
        for x in r.results:
            self.assertEqual(x.status, expect, r)
        return r, mid

    def delivered(self, mid, count=1, timeout=20):
        """The Maildir files carrying this Message-ID (waits for count)."""
        needle = b'\nMessage-ID: ' + mid.encode() + b'\n'
        end = time.monotonic() + timeout
        while True:
            got = [m for m in self.pf.messages() if needle in m]
            if len(got) >= count:
                return got
            if time.monotonic() > end:
                with open(self.pf.maillog, errors='replace') as f:
                    log = f.read()[-3000:]
                self.fail('%s: %d of %d delivered; maillog tail:\n%s' % (mid, len(got), count, log))
            time.sleep(0.05)

    def not_delivered(self, mid, wait=0.5):
        time.sleep(wait)
        needle = mid.encode()
        self.assertFalse([m for m in self.pf.messages() if needle in m])

    def assert_text_equal(self, part, data, single=False):
        """A text part's decoded bytes equal the input with line endings
        normalised (LF in the Maildir). A non-empty 7bit/8bit single-part
        body gets a final line break when the input had none (the message
        ends with CRLF); quoted-printable keeps the missing one (soft
        break)."""
        want = itest.lf(data)
        if (single and want and not want.endswith(b'\n')
                and part['content-transfer-encoding'] in ('7bit', '8bit')):
            want += b'\n'
        self.assertEqual(part.get_payload(decode=True), want)

    def roundtrip_text(self, data, extra=()):
        r, mid = self.send(['--text', self.files.make('t%d.txt' % self.n, data)] + list(extra))
        [raw] = self.delivered(mid)
        self.assertNotIn(b'\r', raw)  # Postfix stores LF; a bare CR would stay
        msg = itest.parse(raw)
        self.assert_text_equal(msg, data, single=True)
        return msg, raw

    # ---------------------------------------------------------------- text bodies

    def test_dots(self):
        data = (b'.\r\n..\r\n...\r\n.x\r\nmid\r\n.\r\n\r\n.\r\nline\n.\nbare-lf dot\r.\r'
                b'bare-cr dot\n.\r\ncr-lf\r\n.\nmixed\r\n.')
        msg, raw = self.roundtrip_text(data)
        # the body on disk: unstuffed by Postfix, so exactly our lines
        self.assertEqual(servers.body_of(raw), itest.lf(data) + b'\n')

    def test_starts_and_ends_with_dot(self):
        self.roundtrip_text(b'.first line is a dot\r\nlast line\r\n.\r\n')
        self.roundtrip_text(b'.')

    def test_bare_newlines(self):
        # smtpd_forbid_bare_newline = reject: one bare LF on the wire would be a 550
        self.roundtrip_text(b'a\nb\rc\r\r\nd\n\n\re\r\n\r\n\n\rf')

    def test_smuggling_payloads(self):
        for p in (b'\n.\n', b'\r.\r', b'\n.\r\n', b'\r\n.\n', b'\r\n.\r', b'\r.\r\n', b'\r\n.\r\n',
                  b'\n..\n', b'\r\n.\r\nMAIL FROM:<x@example.com>\r\n'):
            with self.subTest(payload=p):
                self.roundtrip_text(b'before' + p + b'after' + p)

    def test_long_lines(self):
        rnd = random.Random(7)
        line = ''.join(rnd.choice('abcdefgh ') for _ in range(5000)).encode()
        msg, raw = self.roundtrip_text(line + b'\r\n' + b'y' * 999 + b'\r\n' + b'z' * 998 + b'\r\n')
        self.assertEqual(msg['content-transfer-encoding'], 'quoted-printable')
        self.assertTrue(all(len(l) <= 998 for l in raw.split(b'\n')))

    def test_8bit_text_and_empty_body(self):
        self.roundtrip_text('Grüße, ☃ and 日本語\r\n.\r\n'.encode())
        self.roundtrip_text(b'')

    # ---------------------------------------------------------------- attachments

    def test_attachments_exact(self):
        rnd = random.Random(1)
        specs = [
            ('zeros.bin', b'\0' * 4096),
            ('random.bin', bytes(rnd.getrandbits(8) for _ in range(70001))),
            ('empty.dat', b''),
            ('dots.txt', b'.\r\n.\n\r.\r\n..\r\n'),
            ('résumé.pdf', b'%PDF-1.4\n\0\xff\xfe'),
            ('日本語のファイル名.txt', 'テキスト'.encode()),
            ('a"b.txt', b'quote'),
            ('name with spaces and (parens).tar.gz', b'\x1f\x8b\x08\0'),
            ('x' * 240 + '.log', b'long name'),
            ('emoji 😀 ' * 20 + '.bin', b'\x00\x01'),   # 224 bytes of UTF-8
        ]
        args = ['--subject', 'attachments', '--text-data', 'see attached\n']
        for name, data in specs:
            args += ['--attach', self.files.make('in%d' % len(args), data), '--name', name]
        r, mid = self.send(args)
        [raw] = self.delivered(mid)
        msg = itest.parse(raw)
        self.assertEqual(msg.get_content_type(), 'multipart/mixed')
        got = [(p.get_filename(), p.get_payload(decode=True)) for p in msg.iter_attachments()]
        self.assertEqual(got, specs)
        [body] = [p for p in msg.iter_parts() if p.get_filename() is None]
        self.assertEqual(body.get_payload(decode=True), b'see attached\n')

    def test_path_is_reduced_to_basename(self):
        path = self.files.make('passwd', b'root:x:0:0\n')
        r, mid = self.send(['--text-data', 'x', '--attach', path, '--name', '../../etc/passwd'])
        msg = itest.parse(self.delivered(mid)[0])
        [att] = list(msg.iter_attachments())
        self.assertEqual(att.get_filename(), 'passwd')
        self.assertEqual(att.get_payload(decode=True), b'root:x:0:0\n')

    def test_five_megabytes(self):
        data = os.urandom(5 * 1024 * 1024)
        r, mid = self.send(['--text-data', 'big one', '--attach', self.files.make('big.bin', data),
                            '--name', 'big.bin'])
        self.assertGreater(r.r.bytes, len(data) * 4 // 3)
        msg = itest.parse(self.delivered(mid)[0])
        [att] = list(msg.iter_attachments())
        self.assertEqual(att.get_payload(decode=True), data)

    def test_text_and_html_alternative(self):
        html = b'<p>Hi &amp; bye</p>\n<p>.</p>\n'
        r, mid = self.send(['--text-data', 'Hi & bye\n.\n', '--html', self.files.make('h.html', html),
                            '--attach', self.files.make('a.csv', b'a,b\n1,2\n'), '--name', 'a.csv',
                            '--type', 'text/csv'])
        msg = itest.parse(self.delivered(mid)[0])
        self.assertEqual(msg.get_body(('plain',)).get_payload(decode=True), b'Hi & bye\n.\n')
        self.assertEqual(msg.get_body(('html',)).get_payload(decode=True), html)
        [att] = list(msg.iter_attachments())
        self.assertEqual((att.get_content_type(), att.get_filename()), ('text/csv', 'a.csv'))
        self.assertEqual(att.get_payload(decode=True), b'a,b\n1,2\n')

    # ---------------------------------------------------------------- headers

    def test_non_ascii_subject_and_headers(self):
        subjects = [
            'Grüße aus Köln – ünïcödé',
            '日本語の件名' * 30,          # 180 CJK characters: many encoded-words
            '😀🎉 emoji ' * 15,
            ' '.join('word%d' % i for i in range(265)),   # 2013 chars, folded
            'x' * 1200,                                    # one unbreakable token
            '=?utf-8?q?not_an_encoded_word?= literal',
        ]
        for s in subjects:
            with self.subTest(subject=s[:30]):
                r, mid = self.send(['--subject', s, '--from-name', 'Jürgen Müller',
                                    '--header', 'X-Note: naïve café ' + s[:50],
                                    '--text-data', 'x'])
                raw = self.delivered(mid)[0]
                msg = itest.parse(raw)
                self.assertEqual(msg['subject'], s)
                self.assertEqual(msg['x-note'], 'naïve café ' + s[:50])
                self.assertEqual(msg['from'].addresses[0].display_name, 'Jürgen Müller')
                head = itest.header_block(raw)
                self.assertTrue(all(len(l) <= 78 for l in head.split(b'\n')
                                    if not l.startswith((b'Received:', b'\t', b'Return-Path'))),
                                head.decode('latin-1'))
                self.assertTrue(all(b < 0x80 for b in head))

    def test_limits(self):
        # over MAILOUT_MAX_HEADER_VALUE_LEN / MAILOUT_MAX_FILENAME_LEN: refused, nothing sent
        r, mid = self.send(['--subject', 'word ' * 1000, '--text-data', 'x'], expect='E_LIMIT')
        self.assertEqual(r.r.text, 'refused by set_subject')
        r, mid = self.send(['--text-data', 'x', '--attach', self.files.make('l.bin', b'1'),
                            '--name', 'y' * 256], expect='E_LIMIT')
        self.assertEqual(r.r.text, 'refused by part_set_filename')
        self.not_delivered(mid, wait=0)

    def test_bcc_privacy_and_recipients(self):
        r, mid = self.send(['--cc', 'cc@example.com', '--bcc', 'hidden@example.com', '--text-data', 'x'],
                           to=('to1@example.com', 'to2@localhost'))
        self.assertEqual((r.r.rcpt_ok, r.r.rcpt_failed), (4, 0))
        got = self.delivered(mid, count=4)
        dtos = sorted(itest.parse(m)['delivered-to'] for m in got)
        self.assertEqual(dtos, ['cc@example.com', 'hidden@example.com', 'to1@example.com',
                                'to2@localhost'])
        for m in got:
            msg = itest.parse(m)
            self.assertIsNone(msg['bcc'])
            # only Postfix's own trace fields may name the Bcc recipient
            for k, v in msg.items():
                if k.lower() not in ('delivered-to', 'x-original-to'):
                    self.assertNotIn('hidden', v, k)

    def test_partial_relay_denied(self):
        r, mid = self.send(['--text-data', 'x'], to=('ok@example.com', 'far@elsewhere.test'),
                           expect='E_PARTIAL')
        self.assertEqual((r.r.rcpt_ok, r.r.rcpt_failed), (1, 1))
        [m] = self.delivered(mid)
        self.assertIn(b'Delivered-To: ok@example.com\n', m)

    def test_all_recipients_refused(self):
        r, mid = self.send(['--text-data', 'x'], to=('far@elsewhere.test',), expect='E_REJ_PERM')
        self.assertEqual((r.r.stage, r.r.code), ('RCPT', 554))
        self.not_delivered(mid)

    # ---------------------------------------------------------------- ports and TLS

    def test_implicit_tls_port(self):
        data = os.urandom(3000)
        r, mid = self.send(['--text-data', 'implicit', '--attach', self.files.make('i.bin', data)],
                           port=self.pf.port_smtps, tls='implicit')
        [att] = list(itest.parse(self.delivered(mid)[0]).iter_attachments())
        self.assertEqual(att.get_payload(decode=True), data)

    def test_encrypt_only_port(self):
        r, mid = self.send(['--text-data', 'encrypted'], port=self.pf.port_encrypt)
        self.assertEqual(self.delivered(mid)[0].count(b'encrypted'), 1)
        # the same port without TLS: Postfix refuses MAIL
        r, mid = self.send(['--text-data', 'plain'], port=self.pf.port_encrypt, tls='none',
                           expect='E_REJ_PERM')
        self.assertEqual((r.r.stage, r.r.code), ('MAIL', 530))
        self.not_delivered(mid)

    def test_ip_literal_reference_identity(self):
        r, mid = self.send(['--text-data', 'by address', '--server-name', '127.0.0.1'])
        self.delivered(mid)

    def test_wrong_host_name_refused(self):
        r, mid = self.send(['--text-data', 'x', '--server-name', 'mx.example.com'],
                           expect='E_TLS_HOSTNAME')
        self.assertEqual(r.r.stage, 'TLS')
        self.not_delivered(mid, wait=0)

    def test_untrusted_ca_refused(self):
        # the system store does not know the test CA
        r, mid = self.send(['--text-data', 'x', '--cafile', '/etc/ssl/certs/ca-certificates.crt'],
                           expect='E_TLS_VERIFY')
        self.assertEqual(r.r.stage, 'TLS')

    def test_implicit_tls_to_plaintext_port(self):
        r, mid = self.send(['--text-data', 'x'], tls='implicit', expect='E_TLS_HANDSHAKE')
        self.not_delivered(mid, wait=0)

    def test_size_limit(self):
        big = self.files.make('huge.bin', b'\0' * (SIZE_LIMIT // 4 * 3 + 1000))
        r, mid = self.send(['--text-data', 'x', '--attach', big], expect='E_SIZE')
        self.assertEqual(r.r.bytes, 0)
        self.not_delivered(mid, wait=0)

    def test_several_messages_one_connection(self):
        data = b'.\nsame message, one session\r.\r\n'
        r, mid = self.send(['--text', self.files.make('rep.txt', data), '--repeat', 3])
        self.assertEqual([x.status for x in r.results], ['OK'] * 3)
        self.assertEqual(r.session, 'OK')
        for m in self.delivered(mid, count=3):
            self.assert_text_equal(itest.parse(m), data, single=True)

    def test_producer_split_everywhere(self):
        # the text through a producer cut at every offset, all on one
        # connection; 7bit forced so that the bytes reach the line filter as
        # they are (a producer's text is quoted-printable otherwise)
        data = b'x\r\n.\r\n\n.\n\r.\r.'
        for enc in ('7bit', 'auto'):
            r, mid = self.send(['--text', self.files.make('sw.txt', data), '--producer', '--sweep',
                                '--encoding', enc])
            self.assertEqual([x.status for x in r.results], ['OK'] * len(data))
            for m in self.delivered(mid, count=len(data)):
                self.assert_text_equal(itest.parse(m), data, single=True)


if __name__ == '__main__':
    unittest.main(verbosity=2)
