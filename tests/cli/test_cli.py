#!/usr/bin/python3
"""End-to-end tests of mailout-send and of the examples (suite 'cli').

    test_cli.py --bindir BUILD/examples GROUP [GROUP...]

GROUP is one of the TestCase classes below (Usage, DryRun, Peer, Tls,
RealServer, Examples, Queue); meson runs one test per group so they run in
parallel. Servers come from tests/servers/servers.py: the scripted peer
(tests/peer/peer.py) for exact dialogues and faults, Debian's aiosmtpd for a
real server with STARTTLS and AUTH, Postfix's smtp-sink for rejections.
Every server listens on 127.0.0.1 on a port picked at run time and lives a
bounded time; every client run has a timeout.
"""

import base64
import email
import email.policy
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import unittest

SRC = os.environ.get('MAILOUT_SOURCE_ROOT') or os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                             '..', '..')
sys.path.insert(0, os.path.join(SRC, 'tests', 'servers'))
import servers  # noqa: E402

BINDIR = None
FROM = 'dev@example.com'
TO = 'ops@example.com'
RUN_TIMEOUT = 30


def exe(name):
    return os.path.join(BINDIR, name)


def run(args, input=None, env_extra=None, timeout=RUN_TIMEOUT, prog='mailout-send'):
    env = dict(os.environ)
    env.pop('MAILOUT_PASSWORD', None)
    if env_extra:
        env.update(env_extra)
    return subprocess.run([exe(prog)] + list(args), input=input, capture_output=True, env=env,
                          timeout=timeout)


def cli(*args, **kw):
    return run(['--from', FROM, '--to', TO] + list(args), **kw)


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def text_of(part):
    """A text part's decoded content with LF line ends (the wire has CRLF)."""
    return part.get_content().replace('\r\n', '\n')


def check_wire_form(tc, raw):
    """Every line ends in CRLF and is at most 998 bytes."""
    tc.assertTrue(raw.endswith(b'\r\n'), raw[-20:])
    for line in raw.split(b'\r\n'):
        tc.assertNotIn(b'\n', line)
        tc.assertNotIn(b'\r', line)
        tc.assertLessEqual(len(line), 998)


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def spki_pin(pem):
    """sha256//BASE64 of a certificate's public key (curl's --pinnedpubkey)."""
    pub = subprocess.run(['openssl', 'x509', '-in', pem, '-pubkey', '-noout'], capture_output=True,
                         check=True).stdout
    der = subprocess.run(['openssl', 'pkey', '-pubin', '-outform', 'der'], input=pub, capture_output=True,
                         check=True).stdout
    import hashlib
    return 'sha256//' + base64.b64encode(hashlib.sha256(der).digest()).decode()


class Files:
    """Input files in a temporary directory."""

    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix='mailout-cli-')
        self.dir = self.tmp.name

    def write(self, name, data):
        path = os.path.join(self.dir, name)
        with open(path, 'wb') as f:
            f.write(data.encode() if isinstance(data, str) else data)
        return path

    def cleanup(self):
        self.tmp.cleanup()


def binary_blob(n, seed=7):
    out = bytearray()
    x = seed
    for _ in range(n):
        x = (x * 1103515245 + 12345) & 0x7fffffff
        out.append((x >> 16) & 0xff)
    return bytes(out)


# ---------------------------------------------------------------- usage, inputs

class Usage(unittest.TestCase):
    def setUp(self):
        self.f = Files()

    def tearDown(self):
        self.f.cleanup()

    def assertExit(self, r, code, err_re=None):
        self.assertEqual(r.returncode, code, r.stderr.decode(errors='replace'))
        if err_re:
            self.assertRegex(r.stderr.decode(), err_re)

    def test_help(self):
        r = run(['--help'])
        self.assertExit(r, 0)
        out = r.stdout.decode()
        for opt in ('--server', '--tls', '--cafile', '--pin', '--helo', '--from', '--to', '--cc', '--bcc',
                    '--subject', '--header', '--text', '--html', '--attach', '--attach-cmd', '--attach-tail',
                    '--user', '--password-file', '--auth', '--oauth-token-file', '--dry-run', '--verbose',
                    '--progress', '--dsn', '--no-pipelining', '--no-chunking', '--timeout', 'MAILOUT_PASSWORD'):
            self.assertIn(opt, out)
        self.assertEqual(r.stderr, b'')

    def test_version(self):
        r = run(['--version'])
        self.assertExit(r, 0)
        self.assertRegex(r.stdout.decode(), r'^mailout-send \d+\.\d+\.\d+\n$')

    def test_usage_errors_exit_64(self):
        cases = [
            ([], r'--from is required'),
            (['--bogus'], r'try --help'),
            (['--from', FROM, '--dry-run'], r'at least one --to'),
            (['--from', FROM, '--to', TO], r'--server is required'),
            (['--from', FROM, '--to', TO, '--server', 'imap://h'], r'--server imap://h'),
            (['--from', FROM, '--to', TO, '--server', 'smtp://h:99999'], r'bad port'),
            (['--from', FROM, '--to', TO, '--server', 'smtps://h', '--tls', 'none'], r'contradicts'),
            (['--from', FROM, '--to', TO, '--server', 'smtp://h', '--tls', 'opportunistic'], r'--tls'),
            (['--from', FROM, '--to', TO, '--dry-run', '--pin', 'sha256//xx'], r'--pin'),
            (['--from', FROM, '--to', TO, '--dry-run', '--timeout', 'soon'], r'--timeout'),
            (['--from', FROM, '--to', TO, '--dry-run', '--dsn', 'always'], r'--dsn'),
            (['--from', FROM, '--to', TO, '--dry-run', '--auth', 'NTLM'], r'--auth'),
            (['--from', FROM, '--to', TO, '--dry-run', '--attach-tail', 'x:0'], r'--attach-tail'),
            (['--from', FROM, '--to', TO, '--dry-run', 'stray'], r"unexpected argument 'stray'"),
            (['--from', FROM, '--to', TO, '--dry-run', '--header', 'no colon'], r'--header'),
            (['--from', FROM, '--to', TO, '--dry-run', '--text', 'a', '--text', 'b'], r'--text given twice'),
        ]
        for args, err in cases:
            with self.subTest(args=args):
                self.assertExit(run(args), 64, err)

    def test_password_never_on_the_command_line(self):
        r = cli('--server', 'smtp://127.0.0.1', '--user', 'u', '--password', 'hunter2')
        self.assertExit(r, 64, r'--password-file FILE or MAILOUT_PASSWORD')
        self.assertNotIn(b'hunter2', r.stderr + r.stdout)
        r = cli('--server', 'smtp://127.0.0.1', '--user', 'u', '--password=hunter2')
        self.assertExit(r, 64)
        self.assertNotIn(b'hunter2', r.stderr + r.stdout)

    def test_user_needs_a_secret(self):
        self.assertExit(cli('--server', 'smtp://127.0.0.1', '--user', 'u'), 64, r'--user needs a password')
        empty = self.f.write('empty', '')
        self.assertExit(cli('--server', 'smtp://127.0.0.1', '--user', 'u', '--password-file', empty), 64)
        self.assertExit(cli('--dry-run', '--password-file', empty), 64, r'need --user')

    def test_rejected_input_exit_64(self):
        cases = [
            (['--dry-run', '--to', 'not an address'], r'^mailout-send: --to not an address: '),
            (['--dry-run', '--cc', 'a@b\r\nRCPT TO:<x@y>'], r'--cc'),
            (['--dry-run', '--header', 'X-A: b\r\nBcc: evil@example.net'], r'--header'),
            (['--dry-run', '--header', 'From: other@example.net'], r'--header'),
            (['--dry-run', '--header', 'Bad Name: x'], r'--header'),
            (['--dry-run', '--attach-cmd', 'true', '--subject', 'a\nb'], r'--subject'),
        ]
        for args, err in cases:
            with self.subTest(args=args):
                r = cli(*args)
                self.assertExit(r, 64, err)
                self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
                self.assertEqual(r.stdout, b'')

    def test_missing_input_exit_66(self):
        d = self.f.dir
        cases = [
            (['--dry-run', '--text', d + '/nope.txt'], r'^mailout-send: --text .*/nope.txt: No such file'),
            (['--dry-run', '--html', d + '/nope.html'], r'--html'),
            (['--dry-run', '--attach', d + '/nope.bin;type=a/b'], r'^mailout-send: --attach .*/nope.bin: No such'),
            (['--dry-run', '--attach-tail', d + '/nope.log:100'], r'--attach-tail'),
            (['--dry-run', '--attach', d], r'is a directory'),
            (['--server', 'smtp://127.0.0.1:1', '--user', 'u', '--password-file', d + '/nope'],
             r'--password-file'),
            (['--server', 'smtp://127.0.0.1:1', '--user', 'u', '--oauth-token-file', d + '/nope'],
             r'--oauth-token-file'),
        ]
        for args, err in cases:
            with self.subTest(args=args):
                r = cli(*args)
                self.assertExit(r, 66, err)
                self.assertEqual(r.stdout, b'')


# ---------------------------------------------------------------- dry run

class DryRun(unittest.TestCase):
    def setUp(self):
        self.f = Files()

    def tearDown(self):
        self.f.cleanup()

    def dry(self, *args, **kw):
        r = cli('--dry-run', *args, **kw)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors='replace'))
        check_wire_form(self, r.stdout)
        return r.stdout, parse(r.stdout)

    def test_everything(self):
        text = 'Hello Zoë,\n\nsee the attachments.\n.\nFrom here on: dots and \u2603.\n'
        html = '<html><body><p>Hello Zo&euml;</p></body></html>\n'
        blob = binary_blob(3001)
        log = ''.join('line %04d: something happened\n' % i for i in range(400)).encode()
        t = self.f.write('body.txt', text)
        h = self.f.write('body.html', html)
        b = self.f.write('data.bin', blob)
        n = self.f.write('notes.txt', 'plain notes\n')
        lg = self.f.write('device.log', log)
        raw, msg = self.dry('--cc', 'Carol <carol@example.com>', '--bcc', 'secret@example.com',
                            '--subject', 'Logs from device 42 \u2013 Zoë', '--header', 'X-Device: 42',
                            '--header', 'Reply-To-Team:   support', '--text', t, '--html', h,
                            '--attach', b, '--attach', n + ';type=text/x-notes;name=renamed.txt',
                            '--attach-tail', lg + ':1K', '--attach-cmd', 'printf "cmd out\\n"; echo second',
                            '--dsn', 'failure,delay')
        self.assertNotIn(b'secret@example.com', raw)
        self.assertNotIn(b'Bcc', raw)
        self.assertEqual(msg['From'].addresses[0].addr_spec, FROM)
        self.assertEqual(msg['To'].addresses[0].addr_spec, TO)
        self.assertEqual(msg['Cc'].addresses[0].addr_spec, 'carol@example.com')
        self.assertEqual(msg['Cc'].addresses[0].display_name, 'Carol')
        self.assertEqual(str(msg['Subject']), 'Logs from device 42 \u2013 Zoë')
        self.assertEqual(str(msg['X-Device']), '42')
        self.assertEqual(str(msg['Reply-To-Team']), 'support')
        self.assertIsNotNone(msg['Date'])
        self.assertIsNotNone(msg['Message-ID'])
        self.assertEqual(msg.get_content_type(), 'multipart/mixed')
        parts = list(msg.iter_parts())
        self.assertEqual(len(parts), 5)
        alt = parts[0]
        self.assertEqual(alt.get_content_type(), 'multipart/alternative')
        plain, rich = list(alt.iter_parts())
        self.assertEqual(plain.get_content_type(), 'text/plain')
        self.assertEqual(text_of(plain), text)
        self.assertEqual(rich.get_content_type(), 'text/html')
        self.assertEqual(text_of(rich), html)
        self.assertIsNone(plain.get_filename())

        att = parts[1:]
        self.assertEqual([p.get_filename() for p in att],
                         ['data.bin', 'renamed.txt', 'device.log', 'command-output.txt'])
        self.assertEqual([p.get_content_disposition() for p in att], ['attachment'] * 4)
        self.assertEqual(att[0].get_content_type(), 'application/octet-stream')
        self.assertEqual(att[0].get_payload(decode=True), blob)
        self.assertEqual(att[1].get_content_type(), 'text/x-notes')
        self.assertEqual(att[1].get_payload(decode=True).replace(b'\r\n', b'\n'), b'plain notes\n')
        self.assertEqual(att[2].get_content_type(), 'text/plain')
        self.assertEqual(att[2].get_payload(decode=True).replace(b'\r\n', b'\n'), log[-1024:])
        self.assertEqual(att[3].get_payload(decode=True).replace(b'\r\n', b'\n'), b'cmd out\nsecond\n')

    def test_text_only_is_a_single_part(self):
        _, msg = self.dry('--subject', 'hi', '--text', self.f.write('t', 'just text\n'))
        self.assertEqual(msg.get_content_type(), 'text/plain')
        self.assertFalse(msg.is_multipart())
        self.assertEqual(text_of(msg), 'just text\n')

    def test_no_body_is_empty_text(self):
        raw, msg = self.dry('--subject', 'empty')
        self.assertFalse(msg.is_multipart())
        self.assertEqual(text_of(msg).strip(), '')

    def test_html_only(self):
        _, msg = self.dry('--html', self.f.write('h.html', '<p>x</p>\n'))
        self.assertEqual(msg.get_content_type(), 'text/html')

    def test_text_from_stdin_pipe_and_file(self):
        body = ''.join('%d: stdin line\n' % i for i in range(1000))
        _, msg = self.dry('--text', '-', input=body.encode())
        self.assertEqual(text_of(msg), body)
        path = self.f.write('in.txt', body)
        with open(path, 'rb') as f:
            r = subprocess.run([exe('mailout-send'), '--from', FROM, '--to', TO, '--dry-run', '--text', '-'],
                               stdin=f, capture_output=True, timeout=RUN_TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(text_of(parse(r.stdout)), body)

    def test_attach_tail_shorter_file_is_whole(self):
        lg = self.f.write('small.log', 'only this\n')
        _, msg = self.dry('--attach-tail', lg + ':1M')
        (att,) = list(msg.iter_attachments())
        self.assertEqual(att.get_payload(decode=True).replace(b'\r\n', b'\n'), b'only this\n')

    def test_large_binary_attachment(self):
        blob = binary_blob(300000, seed=3)
        _, msg = self.dry('--text', self.f.write('t', 'x\n'), '--attach', self.f.write('big.bin', blob))
        (att,) = list(msg.iter_attachments())
        self.assertEqual(att.get_payload(decode=True), blob)

    def test_attach_cmd_failure_never_ends_the_message(self):
        for cmd, err in (('echo partial; exit 3', r'--attach-cmd "echo partial; exit 3": exited with status 3'),
                         ('echo partial; kill -9 $$', r'killed by signal 9'),
                         ('exec /nonexistent/program', r'exited with status 127')):
            with self.subTest(cmd=cmd):
                r = cli('--dry-run', '--text', self.f.write('t', 'body\n'), '--attach-cmd', cmd)
                self.assertEqual(r.returncode, 66, r.stderr)
                self.assertRegex(r.stderr.decode(), err)
                self.assertIn(b'message was not sent', r.stderr)
                # the closing boundary of the outer multipart never came
                boundary = parse(r.stdout + b'\r\n').get_boundary()
                self.assertIsNotNone(boundary)
                self.assertNotIn(('--' + boundary + '--').encode(), r.stdout)

    def test_dry_run_uses_no_network(self):
        # a server that would refuse the connection: a dry run never tries
        raw, _ = self.dry('--server', 'smtp://127.0.0.1:%d' % free_port())
        self.assertIn(b'From:', raw)

    def test_dry_run_needs_no_password(self):
        self.dry('--server', 'smtp://127.0.0.1:1', '--user', 'u')


# ---------------------------------------------------------------- scripted peer

GREET = {'send': '220 peer.test ESMTP\r\n'}


def ehlo(*caps, name=None):
    lines = ['peer.test'] + list(caps)
    reply = ''.join('250%s%s\r\n' % ('-' if i < len(lines) - 1 else ' ', l) for i, l in enumerate(lines))
    step = {'expect_re': '(?i)EHLO %s' % (re.escape(name) if name else r'\S+'), 'reply': reply}
    return step


MAIL = {'expect_re': '(?i)MAIL FROM:<%s>.*' % re.escape(FROM), 'reply': '250 2.1.0 ok\r\n'}
DATA = {'expect_line': 'DATA\r\n', 'reply': '354 go ahead\r\n'}
BODY = {'expect_data': True, 'reply': '250 2.0.0 queued as 1\r\n'}
QUIT = {'expect_line': 'QUIT\r\n', 'reply': '221 2.0.0 bye\r\n'}
RSET = {'expect_line': 'RSET\r\n', 'reply': '250 2.0.0 ok\r\n'}


def rcpt(addr=TO, reply='250 2.1.5 ok\r\n', extra=''):
    return {'expect_re': '(?i)RCPT TO:<%s>%s' % (re.escape(addr), extra), 'reply': reply}


def flow(*middle, caps=()):
    return [GREET, ehlo(*caps), MAIL] + list(middle)


class PeerTests(unittest.TestCase):
    """Base: run mailout-send (plaintext) against a scripted peer."""

    def setUp(self):
        self.f = Files()
        self.text = self.f.write('t.txt', 'Hello.\n.\n..dots\n')

    def tearDown(self):
        self.f.cleanup()

    def against(self, script, *args, timeout=20, text=True, **kw):
        with servers.Peer(script, timeout=timeout) as p:
            r = cli('--server', 'smtp://127.0.0.1:%d' % p.port, '--tls', 'none',
                    *(['--text', self.text] if text else []), '--subject', 'peer test', *args, **kw)
            res = p.wait()
        return r, res

    def assertExit(self, r, code, err_re=None):
        self.assertEqual(r.returncode, code, r.stderr.decode(errors='replace'))
        if err_re:
            self.assertRegex(r.stderr.decode(), err_re)


class Peer(PeerTests):
    def test_sent_exit_0(self):
        dots = self.f.write('dots.txt', '.\n..dots\nend\n.')
        r, res = self.against(flow(rcpt(), DATA, BODY, QUIT), '--attach', dots)
        self.assertExit(r, 0)
        self.assertTrue(res.ok, res.error)
        self.assertEqual(r.stderr, b'')
        body = res.bodies[0]['bytes']
        # the 7bit attachment's lines are dot-stuffed on the wire
        self.assertIn(b'\r\n\r\n..\r\n...dots\r\nend\r\n..\r\n', body)
        self.assertTrue(body.endswith(b'\r\n.\r\n'))
        self.assertEqual(body.count(b'\r\n.\r\n'), 1)

    def test_helo(self):
        r, res = self.against([GREET, ehlo(name='my-host.example'), MAIL, rcpt(), DATA, BODY, QUIT],
                              '--helo', 'my-host.example')
        self.assertExit(r, 0)
        self.assertTrue(res.ok, res.error)

    def test_dsn(self):
        r, res = self.against(flow(rcpt(extra=' NOTIFY=FAILURE,DELAY.*'), DATA, BODY, QUIT, caps=('DSN',)),
                              '--dsn', 'failure,delay')
        self.assertExit(r, 0)
        self.assertTrue(res.ok, res.error)

    def test_no_pipelining(self):
        # PIPELINING offered, but each command must wait for its reply
        script = [GREET, ehlo('PIPELINING'),
                  {'expect_re': '(?i)MAIL FROM:.*'}, {'expect_nothing': 0.3}, {'send': '250 ok\r\n'},
                  {'expect_re': '(?i)RCPT TO:.*'}, {'expect_nothing': 0.3}, {'send': '250 ok\r\n'},
                  DATA, BODY, QUIT]
        r, res = self.against(script, '--no-pipelining')
        self.assertExit(r, 0)
        self.assertTrue(res.ok, res.error)

    def test_no_chunking(self):
        r, res = self.against(flow(rcpt(), DATA, BODY, QUIT, caps=('CHUNKING', '8BITMIME')), '--no-chunking')
        self.assertExit(r, 0)
        self.assertTrue(res.ok, res.error)

    def test_pipelining_by_default(self):
        # the same server as test_no_pipelining: without the flag, RCPT
        # follows MAIL before any reply
        script = [GREET, ehlo('PIPELINING'), {'expect_re': '(?i)MAIL FROM:.*'},
                  {'expect_re': '(?i)RCPT TO:.*', 'timeout': 2}, {'send': '250 ok\r\n250 ok\r\n'},
                  {'expect_line': 'DATA\r\n'}, {'send': '354 go\r\n'}, BODY, QUIT]
        r, res = self.against(script)
        self.assertExit(r, 0)
        self.assertTrue(res.ok, res.error)

    def test_chunking_by_default(self):
        # a small message goes as two chunks here, the second one with LAST
        r, res = self.against(flow(rcpt(), {'expect_bdat': True, 'last': False, 'reply': '250 2.0.0 ok\r\n'},
                                   {'expect_bdat': True, 'last': True, 'reply': '250 2.0.0 ok\r\n'},
                                   QUIT, caps=('CHUNKING', '8BITMIME')))
        self.assertExit(r, 0)
        self.assertTrue(res.ok, res.error)

    def test_rcpt_5xx_exit_69(self):
        script = flow(rcpt(reply='550 5.1.1 user unknown\r\n'), RSET, QUIT)
        r, res = self.against(script)
        self.assertExit(r, 69)
        self.assertEqual(r.stderr.decode(), 'mailout-send: RCPT <%s>: 550 5.1.1 user unknown\n' % TO)
        self.assertTrue(res.ok, res.error)
        self.assertNotIn(b'DATA\r\n', res.records[0])

    def test_partial_failure(self):
        script = flow(rcpt(), rcpt('gone@example.com', '550 5.1.1 user unknown\r\n'),
                      rcpt('later@example.com', '451 4.2.0 try later\r\n'), DATA, BODY, QUIT)
        r, res = self.against(script, '--to', 'gone@example.com', '--cc', 'later@example.com')
        self.assertExit(r, 69)
        self.assertTrue(res.ok, res.error)
        self.assertEqual(r.stderr.decode().splitlines(),
                         ['mailout-send: RCPT <gone@example.com>: 550 5.1.1 user unknown',
                          'mailout-send: RCPT <later@example.com>: 451 4.2.0 try later',
                          'mailout-send: sent to 1 recipient(s), 2 refused'])

    def test_partial_temporary_only_exit_75(self):
        script = flow(rcpt(), rcpt('later@example.com', '452 4.2.2 mailbox full\r\n'), DATA, BODY, QUIT)
        r, res = self.against(script, '--to', 'later@example.com')
        self.assertExit(r, 75, r'RCPT <later@example.com>: 452 4.2.2 mailbox full')

    def test_mail_4xx_exit_75(self):
        script = [GREET, ehlo(), {'expect_re': '(?i)MAIL FROM:.*', 'reply': '451 4.7.1 greylisted, come back\r\n'},
                  RSET, QUIT]
        r, res = self.against(script)
        self.assertExit(r, 75, r'^mailout-send: MAIL: 451 4.7.1 greylisted, come back\n$')
        self.assertTrue(res.ok, res.error)

    def test_data_end_5xx_exit_69(self):
        script = flow(rcpt(), DATA, {'expect_data': True, 'reply': '554 5.7.1 spam detected\r\n'}, RSET, QUIT)
        r, res = self.against(script)
        self.assertExit(r, 69, r'^mailout-send: END: 554 5.7\.1 spam detected\n$')
        self.assertTrue(res.ok, res.error)

    def test_drop_after_data_delivery_unknown_75(self):
        script = flow(rcpt(), DATA, {'expect_data': True}, {'close': 'fin'})
        r, res = self.against(script)
        self.assertExit(r, 75, r'may or may not be delivered')
        self.assertTrue(res.ok, res.error)

    def test_protocol_garbage_exit_76(self):
        r, _ = self.against([{'send': 'HTTP/1.1 400 Bad Request\r\n\r\n'}, {'read_all': True, 'timeout': 5}])
        self.assertExit(r, 76)
        r, _ = self.against([GREET, {'expect_re': '(?i)EHLO .*', 'reply': '250-ok\r\n550 mixed codes\r\n'},
                             {'read_all': True, 'timeout': 5}])
        self.assertExit(r, 76)

    def test_connection_refused_exit_75(self):
        r = cli('--server', 'smtp://127.0.0.1:%d' % free_port(), '--tls', 'none', '--timeout', '5')
        self.assertExit(r, 75, r'^mailout-send: \S+: ')
        self.assertEqual(len(r.stderr.splitlines()), 1)

    def test_timeout_exit_75(self):
        t0 = time.monotonic()
        r, _ = self.against([{'expect_nothing': 1.5}, {'read_all': True, 'timeout': 5}], '--timeout', '1')
        self.assertExit(r, 75)
        self.assertLess(time.monotonic() - t0, 8)

    def test_verbose_trace(self):
        r, res = self.against(flow(rcpt(), DATA, BODY, QUIT), '--verbose')
        self.assertExit(r, 0)
        err = r.stderr.decode()
        self.assertRegex(err, r'(?m)^< 220 peer.test ESMTP$')
        self.assertRegex(err, r'(?m)^> EHLO ')
        self.assertRegex(err, r'(?m)^> MAIL FROM:<%s>' % re.escape(FROM))
        self.assertRegex(err, r'(?m)^< 250 2.0.0 queued as 1$')
        self.assertNotIn('Hello.', err)  # message data is never traced

    def test_progress(self):
        big = self.f.write('big.bin', binary_blob(200000))
        # size known in advance (base64 of a file): a bar up to 100 %
        r, res = self.against(flow(rcpt(), DATA, BODY, QUIT), '--progress', '--attach', big, text=False)
        self.assertExit(r, 0)
        self.assertTrue(res.ok, res.error)
        self.assertRegex(r.stderr.decode(), r'^(\rsending \[[#.]{30}\] +\d+% \d+/\d+ bytes)+\n$')
        self.assertRegex(r.stderr.decode(), r'\[#{30}\] 100% (\d+)/\1 bytes\n$')
        # size unknown (a body that is read once): a byte count, then the total
        r, res = self.against(flow(rcpt(), DATA, BODY, QUIT), '--progress', '--attach', big,
                              '--attach-cmd', 'echo x')
        self.assertExit(r, 0)
        self.assertRegex(r.stderr.decode(), r'\rsending: \d+ bytes, done\n$')

    def test_attach_cmd_failure_not_delivered(self):
        script = flow(rcpt(), DATA, {'read_all': True, 'timeout': 15})
        r, res = self.against(script, '--attach-cmd', 'head -c 20000 /dev/zero | tr "\\0" x; exit 2')
        self.assertExit(r, 66, r'exited with status 2; the message was not sent')
        data = res.records[0].split(b'DATA\r\n', 1)[1]
        self.assertNotIn(b'\r\n.\r\n', data)
        self.assertGreater(len(data), 1000)  # it had started to stream


# ---------------------------------------------------------------- TLS

class Tls(PeerTests):
    def tls_cli(self, port, *args, scheme='smtp', **kw):
        return cli('--server', '%s://localhost:%d' % (scheme, port), '--text', self.text, *args, **kw)

    def test_implicit_tls_smtps(self):
        script = [{'starttls': True, 'cert': 'server'}, GREET, ehlo(), MAIL, rcpt(), DATA, BODY, QUIT]
        with servers.Peer(script, timeout=20) as p:
            r = self.tls_cli(p.port, '--cafile', servers.ca_file(), scheme='smtps')
            res = p.wait()
        self.assertExit(r, 0)
        self.assertTrue(res.ok, res.error)

    def test_starttls_required_but_not_offered_77(self):
        with servers.Peer([GREET, ehlo(), {'read_all': True, 'timeout': 10}], timeout=20) as p:
            r = self.tls_cli(p.port, '--cafile', servers.ca_file())
            res = p.wait()
        self.assertExit(r, 77)
        self.assertNotIn(b'MAIL FROM', res.records[0])

    def test_wrong_ca_77(self):
        other = os.path.join(servers.certs_dir(), 'other-ca.pem')
        with servers.Aiosmtpd(timeout=30) as s:
            r = self.tls_cli(s.port, '--cafile', other)
            time.sleep(0.2)
            self.assertEqual(s.messages(), [])
        self.assertExit(r, 77, r'^mailout-send: \S+: ')

    def test_wrong_host_77(self):
        script = [GREET, ehlo('STARTTLS'), {'expect_line': 'STARTTLS\r\n', 'reply': '220 go\r\n'},
                  {'starttls': True, 'cert': 'wronghost', 'handshake': 'fail'}]
        with servers.Peer(script, timeout=20) as p:
            r = self.tls_cli(p.port, '--cafile', servers.ca_file())
            p.wait()
        self.assertExit(r, 77)

    def test_xoauth2_token_file(self):
        token = 'ya29.' + 'T0k3n' * 20
        tf = self.f.write('token', token + '\n')
        script = [GREET, ehlo('STARTTLS'), {'expect_line': 'STARTTLS\r\n', 'reply': '220 2.0.0 go\r\n'},
                  {'starttls': True, 'cert': 'server'}, ehlo('AUTH XOAUTH2'),
                  {'expect_re': r'AUTH XOAUTH2 (\S+)', 'reply': '235 2.7.0 ok\r\n'},
                  MAIL, rcpt(), DATA, BODY, QUIT]
        with servers.Peer(script, timeout=20) as p:
            r = self.tls_cli(p.port, '--cafile', servers.ca_file(), '--user', 'dev', '--oauth-token-file', tf,
                             '--verbose')
            res = p.wait()
        self.assertExit(r, 0)
        self.assertTrue(res.ok, res.error)
        self.assertNotIn(token.encode(), r.stderr)
        line = re.search(rb'AUTH XOAUTH2 (\S+)\r\n', res.records[0]).group(1)
        self.assertEqual(base64.b64decode(line), b'user=dev\x01auth=Bearer ' + token.encode() + b'\x01\x01')
        self.assertNotIn(line, r.stderr)

    def test_pin(self):
        good = spki_pin(os.path.join(servers.certs_dir(), 'server.pem'))
        bad = spki_pin(os.path.join(servers.certs_dir(), 'client.pem'))
        with servers.Aiosmtpd(timeout=30) as s:
            r = self.tls_cli(s.port, '--cafile', servers.ca_file(), '--pin', good)
            self.assertExit(r, 0)
            self.assertEqual(len(s.wait_messages(1)), 1)
            r = self.tls_cli(s.port, '--cafile', servers.ca_file(), '--pin', bad)
            self.assertExit(r, 77)
            time.sleep(0.2)
            self.assertEqual(len(s.messages()), 1)


# ---------------------------------------------------------------- real server

class RealServer(unittest.TestCase):
    """Debian's aiosmtpd with STARTTLS and AUTH PLAIN/LOGIN."""

    USER, PASSWORD = 'device42', 'pa55 w0rd-Secret'

    @classmethod
    def setUpClass(cls):
        cls.server = servers.Aiosmtpd(user=cls.USER, password=cls.PASSWORD, require_starttls=True,
                                      auth_required=True, timeout=90)
        cls.server.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)

    def setUp(self):
        self.f = Files()
        self.url = 'smtp://localhost:%d' % self.server.port

    def tearDown(self):
        self.f.cleanup()

    def count(self):
        return len(self.server.messages())

    def send(self, *args, **kw):
        return cli('--server', self.url, '--cafile', servers.ca_file(), '--user', self.USER, *args, **kw)

    def test_starttls_auth_password_from_env(self):
        n = self.count()
        log = binary_blob(5000, seed=11)
        lg = self.f.write('device.log', log)
        r = self.send('--subject', 'auth via env', '--bcc', 'hidden@example.com', '--text',
                      self.f.write('t', 'see log\n'), '--attach', lg, '--verbose',
                      env_extra={'MAILOUT_PASSWORD': self.PASSWORD})
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors='replace'))
        self.assertNotIn(self.PASSWORD.encode(), r.stderr + r.stdout)
        plain = base64.b64encode(b'\0' + self.USER.encode() + b'\0' + self.PASSWORD.encode())
        self.assertNotIn(plain, r.stderr)
        self.assertRegex(r.stderr.decode(), r'(?m)^> STARTTLS$')
        self.assertRegex(r.stderr.decode(), r'(?m)^> AUTH ')
        env, raw = self.server.wait_messages(n + 1)[n]
        self.assertTrue(env['tls'])
        self.assertEqual(env['auth_login'], self.USER)
        self.assertEqual(sorted(env['rcpt_tos']), sorted([TO, 'hidden@example.com']))
        self.assertNotIn(b'hidden@example.com', raw)
        msg = parse(raw)
        self.assertEqual(str(msg['Subject']), 'auth via env')
        (att,) = list(msg.iter_attachments())
        self.assertEqual(att.get_filename(), 'device.log')
        self.assertEqual(att.get_payload(decode=True), log)

    def test_password_from_file_and_auth_mechanisms(self):
        pw = self.f.write('pw', self.PASSWORD + '\n')
        for mech in ('PLAIN', 'LOGIN'):
            with self.subTest(mech=mech):
                n = self.count()
                r = self.send('--password-file', pw, '--auth', mech, '--subject', 'mech ' + mech, '--verbose',
                              env_extra={'MAILOUT_PASSWORD': 'not-this-one'})
                self.assertEqual(r.returncode, 0, r.stderr.decode(errors='replace'))
                self.assertNotIn(self.PASSWORD.encode(), r.stderr)
                self.assertRegex(r.stderr.decode(), r'(?m)^> AUTH %s' % mech)
                env, raw = self.server.wait_messages(n + 1)[n]
                self.assertEqual(str(parse(raw)['Subject']), 'mech ' + mech)

    def test_wrong_password_77(self):
        n = self.count()
        r = self.send(env_extra={'MAILOUT_PASSWORD': 'wrong'})
        self.assertEqual(r.returncode, 77, r.stderr)
        self.assertRegex(r.stderr.decode(), r'^mailout-send: AUTH: 535')
        self.assertEqual(self.count(), n)

    def test_attach_cmd_failure_not_delivered(self):
        n = self.count()
        r = self.send('--attach-cmd', 'seq 1 20000; exit 1', env_extra={'MAILOUT_PASSWORD': self.PASSWORD})
        self.assertEqual(r.returncode, 66, r.stderr)
        self.assertIn(b'exited with status 1', r.stderr)
        time.sleep(0.5)
        self.assertEqual(self.count(), n)

    def test_attach_cmd_success_delivered(self):
        n = self.count()
        r = self.send('--attach-cmd', 'seq 1 20000', env_extra={'MAILOUT_PASSWORD': self.PASSWORD})
        self.assertEqual(r.returncode, 0, r.stderr)
        env, raw = self.server.wait_messages(n + 1)[n]
        (att,) = list(parse(raw).iter_attachments())
        got = att.get_payload(decode=True).replace(b'\r\n', b'\n')
        self.assertEqual(got, ''.join('%d\n' % i for i in range(1, 20001)).encode())

    def test_auth_refused_without_tls_77(self):
        with servers.Aiosmtpd(user=self.USER, password=self.PASSWORD, tls=False, auth_require_tls=False,
                              timeout=30) as s:
            r = cli('--server', 'smtp://127.0.0.1:%d' % s.port, '--tls', 'none', '--user', self.USER,
                    env_extra={'MAILOUT_PASSWORD': self.PASSWORD})
            time.sleep(0.2)
            self.assertEqual(s.messages(), [])
        self.assertEqual(r.returncode, 77, r.stderr)


# ---------------------------------------------------------------- examples

class Examples(unittest.TestCase):
    def setUp(self):
        self.f = Files()

    def tearDown(self):
        self.f.cleanup()

    def test_compose_readme_example(self):
        log = self.f.write('device.log', 'boot ok\nsensor 3 offline\n')
        r = run([log], prog='compose')
        self.assertEqual(r.returncode, 0, r.stderr)
        check_wire_form(self, r.stdout)
        msg = parse(r.stdout)
        self.assertEqual(str(msg['Subject']), 'Logs from device 42')
        body, att = list(msg.iter_parts())
        self.assertIn('log of device 42', text_of(body))
        self.assertEqual(att.get_filename(), 'device.log')
        self.assertEqual(att.get_payload(decode=True).replace(b'\r\n', b'\n'), b'boot ok\nsensor 3 offline\n')
        self.assertEqual(run([self.f.dir + '/missing'], prog='compose').returncode, 1)

    def test_readme_example_is_compose_c(self):
        with open(os.path.join(SRC, 'README.md')) as f:
            readme = f.read()
        with open(os.path.join(SRC, 'examples', 'compose', 'compose.c')) as f:
            code = f.read()
        block = re.search(r'```c\n(.*?)```', readme, re.S).group(1)
        self.assertEqual(block, code[code.index('#include <stdio.h>'):])

    def test_report(self):
        r = run(['2000'], prog='report')
        self.assertEqual(r.returncode, 0, r.stderr)
        check_wire_form(self, r.stdout)
        msg = parse(r.stdout)
        self.assertEqual(msg.get_content_type(), 'multipart/alternative')
        text, html = list(msg.iter_parts())
        rows = [l for l in text_of(text).splitlines() if re.match(r'^\s+\d+\s+s\d\d\s+\d\d\.\d \u00b0C$', l)]
        self.assertEqual(len(rows), 2000)
        self.assertEqual(text_of(html).count('<tr><td>'), 2000)

    def test_superloop(self):
        r = run([], prog='superloop')
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode()
        self.assertRegex(out, r'message accepted at t=\d+ ms: 250 ')
        self.assertRegex(out, r'[1-9]\d* LED toggles and [1-9]\d* sensor samples meanwhile')

    def test_support_email(self):
        log = ''.join('%06d kernel: event\n' % i for i in range(6000)).encode()  # > 64 KiB
        lg = self.f.write('device.log', log)
        with servers.Aiosmtpd(require_starttls=True, timeout=40) as s:
            r = run(['localhost:%d' % s.port, servers.ca_file(), FROM, TO, lg, 'echo uptime 42; echo disk ok'],
                    prog='support-email')
            self.assertEqual(r.returncode, 0, r.stderr)
            env, raw = s.wait_messages(1)[0]
            r2 = run(['localhost:%d' % s.port, servers.ca_file(), FROM, TO, lg, 'echo partial; exit 1'],
                     prog='support-email')
            time.sleep(0.3)
            self.assertEqual(len(s.messages()), 1)
        self.assertTrue(env['tls'])
        msg = parse(raw)
        summary, logpart, cmdpart = list(msg.iter_parts())
        self.assertIn('Support request', text_of(summary))
        self.assertEqual(logpart.get_filename(), 'device.log')
        self.assertEqual(logpart.get_payload(decode=True).replace(b'\r\n', b'\n'), log[-65536:])
        self.assertEqual(cmdpart.get_payload(decode=True).replace(b'\r\n', b'\n'), b'uptime 42\ndisk ok\n')
        self.assertEqual(r2.returncode, 1)
        self.assertIn(b'not sent', r2.stderr)


# ---------------------------------------------------------------- outbox

class Queue(PeerTests):
    """--queue / --flush / --list (issue 8) against the scripted peer."""

    def setUp(self):
        super().setUp()
        self.q = os.path.join(self.f.dir, 'queue')

    def queued(self):
        r = run(['--list', self.q])
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.decode().splitlines()

    def flush(self, script):
        with servers.Peer(script, timeout=20) as p:
            r = run(['--flush', self.q, '--server', 'smtp://127.0.0.1:%d' % p.port, '--tls', 'none'])
            res = p.wait()
        return r, res

    def test_down_then_flush_delivers_once(self):
        r = cli('--server', 'smtp://127.0.0.1:%d' % free_port(), '--tls', 'none', '--text', self.text,
                '--subject', 'queued', '--queue', self.q)
        self.assertExit(r, 0, r'^mailout-send: CONNECT: .*\nmailout-send: queued as [0-9a-f]{16}-[0-9a-f]{16} in ')
        lines = self.queued()
        self.assertEqual(len(lines), 1, lines)
        self.assertRegex(lines[0], r'^[0-9a-f-]{33} +\d+ bytes  1 rcpt  from dev@example.com  attempts 1  '
                                   r'next \S+  last: E_CONNECT CONNECT$')
        # not due yet: nothing is sent, it stays queued
        r = run(['--flush', self.q, '--server', 'smtp://127.0.0.1:%d' % free_port(), '--tls', 'none'])
        self.assertExit(r, 0)
        self.assertEqual(r.stdout, b'delivered 0, still queued 1 (not yet due 1), failed 0\n')
        # make it due, then a server that takes it
        for name in os.listdir(self.q):
            if name.endswith('.state'):
                path = os.path.join(self.q, name)
                with open(path) as f:
                    text = f.read()
                with open(path, 'w') as f:
                    f.write(re.sub(r'next \d+', 'next 0', text))
        r, res = self.flush(flow(rcpt(), DATA, BODY, QUIT))
        self.assertExit(r, 0)
        self.assertEqual(r.stdout, b'delivered 1, still queued 0 (not yet due 0), failed 0\n')
        self.assertTrue(res.ok, res.error)
        self.assertEqual(len(res.bodies), 1)
        self.assertIn(b'Subject: queued\r\n', res.bodies[0]['bytes'])
        self.assertEqual(self.queued(), [])

    def test_delivered_at_once_leaves_nothing(self):
        r, res = self.against(flow(rcpt(), DATA, BODY, QUIT), '--queue', self.q)
        self.assertExit(r, 0)
        self.assertEqual(r.stderr, b'')
        self.assertTrue(res.ok, res.error)
        self.assertEqual(self.queued(), [])

    def test_temporary_failure_is_queued(self):
        r, res = self.against(flow(rcpt(reply='451 4.3.0 try later\r\n'), RSET, QUIT), '--queue', self.q)
        self.assertExit(r, 0, r'RCPT <ops@example.com>: 451 4.3.0 try later\nmailout-send: queued as ')
        self.assertTrue(res.ok, res.error)
        lines = self.queued()
        self.assertEqual(len(lines), 1)
        self.assertIn('last: E_REJ_TEMP RCPT 451 4.3.0 try later', lines[0])

    def test_permanent_failure_moves_to_failed(self):
        r, res = self.against(flow(rcpt(reply='550 5.1.1 user unknown\r\n'), RSET, QUIT), '--queue', self.q)
        self.assertExit(r, 69, r'RCPT <ops@example.com>: 550 5.1.1 user unknown')
        self.assertEqual(self.queued(), [])
        failed = sorted(os.listdir(os.path.join(self.q, 'failed')))
        self.assertEqual(len(failed), 2, failed)
        self.assertTrue(failed[0].endswith('.msg') and failed[1].endswith('.reason'), failed)
        with open(os.path.join(self.q, 'failed', failed[1])) as f:
            self.assertEqual(f.read(), 'E_REJ_PERM RCPT 550 5.1.1 user unknown\n')

    def test_partial_queues_the_temporary_recipient(self):
        script = flow(rcpt(), rcpt('later@example.com', '451 4.2.0 try later\r\n'), DATA, BODY, QUIT)
        r, res = self.against(script, '--cc', 'later@example.com', '--queue', self.q)
        self.assertExit(r, 0, r'(?s)RCPT <later@example.com>: 451 4.2.0 try later\n.*refused for now are queued')
        self.assertTrue(res.ok, res.error)
        lines = self.queued()
        self.assertEqual(len(lines), 1, lines)
        self.assertIn('  1 rcpt  ', lines[0])
        for name in os.listdir(self.q):
            if name.endswith('.state'):
                os.unlink(os.path.join(self.q, name))  # due at once
        r, res = self.flush([GREET, ehlo(), MAIL, rcpt('later@example.com'), DATA, BODY, QUIT])
        self.assertExit(r, 0)
        self.assertTrue(res.ok, res.error)
        self.assertEqual(self.queued(), [])

    def test_failing_command_queues_nothing(self):
        r = cli('--server', 'smtp://127.0.0.1:%d' % free_port(), '--tls', 'none', '--queue', self.q,
                '--attach-cmd', 'echo partial; exit 3')
        self.assertExit(r, 66, r'exited with status 3')
        self.assertEqual(self.queued(), [])

    def test_flush_temporary_failure_exit_75(self):
        r = cli('--server', 'smtp://127.0.0.1:%d' % free_port(), '--tls', 'none', '--text', self.text,
                '--queue', self.q)
        self.assertExit(r, 0)
        for name in os.listdir(self.q):
            if name.endswith('.state'):
                os.unlink(os.path.join(self.q, name))  # a fresh entry is due at once
        r, res = self.flush(flow(rcpt(reply='452 4.2.2 mailbox full\r\n'), RSET, QUIT))
        self.assertExit(r, 75, r'RCPT <ops@example.com>: 452 4.2.2 mailbox full')
        self.assertEqual(r.stdout, b'delivered 0, still queued 1 (not yet due 0), failed 0\n')
        self.assertEqual(len(self.queued()), 1)

    def test_usage(self):
        self.assertExit(run(['--flush', self.q]), 64, r'--flush needs --server')
        self.assertExit(run(['--flush', self.q, '--server', 'smtp://x', '--from', FROM]), 64,
                        r'takes no message options')
        self.assertExit(cli('--dry-run', '--queue', self.q), 64, r'exclude each other')


def main():
    global BINDIR
    args = sys.argv[1:]
    if len(args) < 3 or args[0] != '--bindir':
        print('usage: test_cli.py --bindir DIR GROUP...', file=sys.stderr)
        return 2
    BINDIR = args[1]
    suite = unittest.TestSuite()
    loader = unittest.TestLoader()
    for g in args[2:]:
        suite.addTests(loader.loadTestsFromTestCase(globals()[g]))
    res = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    return 0 if res.wasSuccessful() else 1


if __name__ == '__main__':
    sys.exit(main())
