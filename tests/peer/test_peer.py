#!/usr/bin/python3
"""Self-tests of peer.py: drive it with smtplib, raw sockets and ssl, both
as a library (in-process thread) and as the command-line program."""

import json
import os
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import peer  # noqa: E402

PEER = os.path.join(HERE, 'peer.py')
GREETING = {'send': '220 peer.test ESMTP\r\n'}
EHLO = {'expect': 'EHLO', 'reply': '250-peer.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n'}
QUIT = {'expect': 'QUIT', 'reply': '221 bye\r\n'}


def client_ctx():
    ctx = ssl.create_default_context(cafile=os.path.join(peer.ensure_certs(), 'ca.pem'))
    return ctx


def connect(p):
    s = socket.create_connection(('127.0.0.1', p.port), timeout=5)
    return s


def recv_until(s, end, limit=5.0):
    data = b''
    t = time.monotonic() + limit
    while not data.endswith(end) and time.monotonic() < t:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


class LibraryTests(unittest.TestCase):

    def test_normal_session(self):
        body = b'Subject: hi\r\n\r\n..dot\r\nline\r\n.\r\n'
        script = [GREETING, EHLO,
                  {'expect_re': r'(?i)MAIL FROM:<a@example\.com>( SIZE=\d+)?', 'reply': '250 ok\r\n'},
                  {'expect': 'rcpt to:<b@example.com>', 'reply': '250 ok\r\n'},
                  {'expect_line': 'data\r\n', 'reply': '354 go\r\n'},
                  {'expect_data': True, 'data': body.decode('latin-1'), 'reply': '250 queued\r\n'},
                  QUIT, {'expect_eof': True}]
        with peer.Peer(script, timeout=10) as p:
            with smtplib.SMTP('127.0.0.1', p.port, local_hostname='c.test', timeout=5) as c:
                c.sendmail('a@example.com', ['b@example.com'], b'Subject: hi\r\n\r\n.dot\r\nline\r\n')
        res = p.check()
        self.assertEqual(res.bodies, [{'conn': 0, 'kind': 'data', 'bytes': body}])
        self.assertEqual(res.records[0],
                         b'ehlo c.test\r\nmail FROM:<a@example.com>\r\n'
                         b'rcpt TO:<b@example.com>\r\ndata\r\n' + body + b'QUIT\r\n')

    def test_split_replies(self):
        script = [dict(GREETING, split='each', split_delay=0.002),
                  dict(EHLO, reply=None),
                  {'send': '250-peer.test\r\n250-SIZE 100\r\n250 8BITMIME\r\n', 'split': [1, 4, 5, 17, 30]},
                  QUIT]
        del script[1]['reply']
        with peer.Peer(script, timeout=10) as p:
            c = smtplib.SMTP('127.0.0.1', p.port, timeout=5)
            code, msg = c.ehlo('c.test')
            self.assertEqual(code, 250)
            self.assertEqual(c.esmtp_features.get('size'), '100')
            self.assertIn('8bitmime', c.esmtp_features)
            c.quit()
        p.check()
        sends = [e['data'] for e in p.wait().events if e['event'] == 'send']
        self.assertEqual(sends[:3], ['2', '2', '0'])
        self.assertEqual(sends[len('220 peer.test ESMTP\r\n'):][:6],
                         ['2', '50-', 'p', 'eer.test\r\n25', '0-SIZE 100\r\n2', '50 8BITMIME\r\n'])

    def test_merged_replies_pipelining(self):
        script = [GREETING,
                  {'expect': 'MAIL'}, {'expect': 'RCPT'}, {'expect': 'DATA'},
                  {'send': '250 a\r\n250 b\r\n354 c\r\n'},
                  {'expect_data': True, 'reply': '250 d\r\n'}]
        with peer.Peer(script, timeout=10) as p:
            s = connect(p)
            self.assertEqual(recv_until(s, b'\r\n'), b'220 peer.test ESMTP\r\n')
            s.sendall(b'MAIL FROM:<>\r\nRCPT TO:<x@y>\r\nDATA\r\n')
            self.assertEqual(recv_until(s, b'354 c\r\n'), b'250 a\r\n250 b\r\n354 c\r\n')
            s.sendall(b'.\r\n')
            self.assertEqual(recv_until(s, b'\r\n'), b'250 d\r\n')
            self.assertEqual(s.recv(10), b'')
            s.close()
        res = p.check()
        self.assertEqual(res.bodies[0]['bytes'], b'.\r\n')

    def test_close_fin(self):
        with peer.Peer([GREETING, {'close': 'fin'}], timeout=10) as p:
            s = connect(p)
            self.assertEqual(recv_until(s, b'\r\n'), b'220 peer.test ESMTP\r\n')
            self.assertEqual(s.recv(10), b'')
            s.close()
        p.check()

    def test_close_rst(self):
        with peer.Peer([GREETING, {'expect': 'EHLO'}, {'close': 'rst'}], timeout=10) as p:
            s = connect(p)
            self.assertEqual(recv_until(s, b'\r\n'), b'220 peer.test ESMTP\r\n')
            s.sendall(b'EHLO x\r\n')
            with self.assertRaises(ConnectionResetError):
                s.recv(10)
            s.close()
        p.check()

    def test_starttls_smtplib(self):
        script = [GREETING, EHLO,
                  {'expect_line': 'STARTTLS\r\n', 'reply': '220 go ahead\r\n'},
                  {'starttls': True, 'min_version': 'TLSv1_2'},
                  {'expect': 'EHLO', 'reply': '250 peer.test\r\n'},
                  QUIT]
        with peer.Peer(script, timeout=10) as p:
            c = smtplib.SMTP('127.0.0.1', p.port, local_hostname='c.test', timeout=5)
            c.starttls(context=client_ctx())
            self.assertEqual(c.ehlo('c.test')[0], 250)
            c.quit()
        res = p.check()
        self.assertEqual(res.records[0], b'ehlo c.test\r\nSTARTTLS\r\nehlo c.test\r\nquit\r\n')
        tls = [e for e in res.events if e['event'] == 'tls']
        self.assertEqual(len(tls), 1)
        self.assertIn(tls[0]['version'], ('TLSv1.2', 'TLSv1.3'))

    def test_starttls_sni_and_max_version(self):
        script = [{'starttls': True, 'expect_sni': 'localhost', 'max_version': 'TLSv1_2'},
                  {'expect_line': 'PING\r\n', 'reply': 'PONG\r\n'}, {'close': 'notify'}]
        with peer.Peer(script, timeout=10) as p:
            raw = connect(p)
            s = client_ctx().wrap_socket(raw, server_hostname='localhost')
            self.assertEqual(s.version(), 'TLSv1.2')
            s.sendall(b'PING\r\n')
            self.assertEqual(recv_until(s, b'\r\n'), b'PONG\r\n')
            self.assertEqual(s.recv(10), b'')  # close_notify: clean EOF, no error
            s.close()
        p.check()

    def test_tls_close_fin_records_plaintext(self):
        script = [{'starttls': True}, {'send': 'bye\r\n'}, {'close': 'fin'}]
        with peer.Peer(script, timeout=10) as p:
            s = client_ctx().wrap_socket(connect(p), server_hostname='localhost')
            self.assertEqual(recv_until(s, b'\r\n'), b'bye\r\n')
            self.assertEqual(s.recv(10), b'')  # FIN without close_notify
            s.sendall(b'QUIT\r\n')
            s.close()
        res = p.check()
        self.assertEqual(res.records[0], b'QUIT\r\n')

    def test_starttls_client_refuses_wrong_host(self):
        script = [{'starttls': True, 'cert': 'wronghost', 'handshake': 'fail'}]
        with peer.Peer(script, timeout=10) as p:
            raw = connect(p)
            with self.assertRaises(ssl.SSLCertVerificationError):
                client_ctx().wrap_socket(raw, server_hostname='localhost')
            raw.close()
        p.check()

    def test_starttls_unexpected_success_is_deviation(self):
        script = [{'starttls': True, 'cert': 'server', 'handshake': 'fail'}]
        with peer.Peer(script, timeout=10) as p:
            s = client_ctx().wrap_socket(connect(p), server_hostname='localhost')
            s.close()
        res = p.wait()
        self.assertFalse(res.ok)
        self.assertIn('should have refused', res.error)

    def test_inject_after_220(self):
        script = [GREETING, {'expect_line': 'STARTTLS\r\n'},
                  {'inject_after_220': '250 injected\r\n'},
                  {'starttls': True},
                  {'expect': 'EHLO', 'reply': '250 ok\r\n'}]
        with peer.Peer(script, timeout=10) as p:
            s = connect(p)
            recv_until(s, b'\r\n')
            s.sendall(b'STARTTLS\r\n')
            got = recv_until(s, b'250 injected\r\n')
            self.assertEqual(got, b'220 2.0.0 Ready to start TLS\r\n250 injected\r\n')
            t = client_ctx().wrap_socket(s, server_hostname='localhost')
            t.sendall(b'EHLO x\r\n')
            self.assertEqual(recv_until(t, b'\r\n'), b'250 ok\r\n')
            t.close()
        p.check()

    def test_pipelined_after_starttls_is_deviation(self):
        script = [GREETING, {'expect_line': 'STARTTLS\r\n'}, {'delay': 0.2},
                  {'send': '220 go\r\n'}, {'starttls': True}]
        with peer.Peer(script, timeout=10) as p:
            s = connect(p)
            recv_until(s, b'\r\n')
            s.sendall(b'STARTTLS\r\nEHLO x\r\n')
            recv_until(s, b'\r\n')
            s.close()
        res = p.wait()
        self.assertFalse(res.ok)
        self.assertIn("after STARTTLS before the TLS handshake", res.error)

    def test_bdat(self):
        script = [GREETING, {'expect_bdat': True, 'last': False, 'data': 'abc\r\n', 'reply': '250 1\r\n'},
                  {'expect_bdat': True, 'last': True, 'data': '', 'reply': '250 2\r\n'}]
        with peer.Peer(script, timeout=10) as p:
            s = connect(p)
            recv_until(s, b'\r\n')
            s.sendall(b'BDAT 5\r\nabc\r\n')
            self.assertEqual(recv_until(s, b'\r\n'), b'250 1\r\n')
            s.sendall(b'BDAT 0 LAST\r\n')
            self.assertEqual(recv_until(s, b'\r\n'), b'250 2\r\n')
            s.close()
        res = p.check()
        self.assertEqual([b['bytes'] for b in res.bodies], [b'abc\r\n', b''])

    def test_expect_nothing_and_eof(self):
        script = [GREETING, {'expect_nothing': 0.3}, {'send': '421 bye\r\n'}, {'expect_eof': True}]
        with peer.Peer(script, timeout=10) as p:
            s = connect(p)
            self.assertEqual(recv_until(s, b'421 bye\r\n'), b'220 peer.test ESMTP\r\n421 bye\r\n')
            s.close()
        p.check()

    def test_expect_nothing_deviation(self):
        with peer.Peer([GREETING, {'expect_nothing': 2}], timeout=10) as p:
            s = connect(p)
            recv_until(s, b'\r\n')
            s.sendall(b'NOOP\r\n')
            time.sleep(0.1)
            s.close()
        res = p.wait()
        self.assertIn("expected silence, but the client sent NOOP\\r\\n", res.error)

    def test_bare_lf_deviation(self):
        with peer.Peer([{'expect': 'EHLO'}], timeout=10) as p:
            s = connect(p)
            s.sendall(b'EHLO x\n')
            s.close()
        res = p.wait()
        self.assertIn('bare LF', res.error)

    def test_data_mismatch(self):
        with peer.Peer([{'expect_data': True, 'data': 'abc\r\n.\r\n'}], timeout=10) as p:
            s = connect(p)
            s.sendall(b'abd\r\n.\r\n')
            s.close()
        res = p.wait()
        self.assertIn('message data differ at offset 2', res.error)

    def test_two_connections(self):
        # connection 0 waits for the client before its RST: an immediate RST
        # can reach the client before its connect() has returned
        script = {'timeout': 10, 'connections': [[GREETING, {'expect': 'NOOP'}, {'close': 'rst'}],
                                                 [GREETING, QUIT]]}
        with peer.Peer(script) as p:
            s = connect(p)
            s.sendall(b'NOOP\r\n')
            with self.assertRaises(ConnectionResetError):
                while s.recv(100):
                    pass
            s.close()
            c = smtplib.SMTP('127.0.0.1', p.port, timeout=5)
            c.quit()
        res = p.check()
        self.assertEqual(res.records, [b'NOOP\r\n', b'quit\r\n'])

    def test_bad_script(self):
        with self.assertRaises(peer.ScriptError):
            peer.Peer([{'expect': 'EHLO', 'rpely': '250 x\r\n'}])
        with self.assertRaises(peer.ScriptError):
            peer.Peer([{'close': 'later'}])


class CliTests(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def start(self, script, *args):
        path = os.path.join(self.dir, 'script.json')
        with open(path, 'w') as f:
            json.dump(script, f)
        proc = subprocess.Popen([sys.executable, PEER, path] + list(args),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = proc.stdout.readline()
        self.assertRegex(line, rb'^PORT [0-9]+\n$')
        return proc, int(line.split()[1])

    def test_record_file_exact(self):
        rec = os.path.join(self.dir, 'rec')
        proc, port = self.start([[GREETING, {'expect': 'HELO', 'reply': '250 x\r\n'},
                                  {'read_all': True}],
                                 [{'read_all': True}]], '--record', rec)
        s = socket.create_connection(('127.0.0.1', port), timeout=5)
        recv_until(s, b'\r\n')
        sent = b'HELO a\r\n' + bytes(range(256)) + b'no newline at end'
        s.sendall(sent[:8])
        recv_until(s, b'\r\n')
        s.sendall(sent[8:])
        s.close()
        s = socket.create_connection(('127.0.0.1', port), timeout=5)
        s.sendall(b'second')
        s.close()
        out, err = proc.communicate(timeout=15)
        self.assertEqual(proc.returncode, 0, err)
        with open(rec, 'rb') as f:
            self.assertEqual(f.read(), sent)
        with open(rec + '.1', 'rb') as f:
            self.assertEqual(f.read(), b'second')
        with open(rec + '.json') as f:
            log = json.load(f)
        self.assertTrue(log['ok'])
        self.assertEqual(log['events'][-1]['event'], 'done')

    def test_timeout_bound(self):
        t0 = time.monotonic()
        proc, port = self.start([GREETING, {'expect': 'EHLO'}], '--timeout', '1.5')
        s = socket.create_connection(('127.0.0.1', port), timeout=5)
        out, err = proc.communicate(timeout=15)
        took = time.monotonic() - t0
        s.close()
        self.assertEqual(proc.returncode, 1)
        self.assertIn(b'peer: connection 0 step 1: timeout waiting for', err)
        self.assertLess(took, 5.0)
        self.assertGreater(took, 1.4)

    def test_no_connection_timeout(self):
        proc, port = self.start({'timeout': 1, 'connections': [[GREETING]]})
        out, err = proc.communicate(timeout=15)
        self.assertEqual(proc.returncode, 1)
        self.assertIn(b'timeout waiting for connection 0', err)

    def test_deviation_exit_1(self):
        proc, port = self.start([GREETING, {'expect': 'EHLO'}])
        c = smtplib.SMTP('127.0.0.1', port, timeout=5)
        try:
            c.helo('x')
        except smtplib.SMTPServerDisconnected:
            pass
        out, err = proc.communicate(timeout=15)
        self.assertEqual(proc.returncode, 1)
        self.assertIn(b"peer: connection 0 step 1: expected a line starting with EHLO, got helo", err)

    def test_script_error_exit_2(self):
        path = os.path.join(self.dir, 'bad.json')
        with open(path, 'w') as f:
            f.write('[{"sned": "x"}]')
        proc = subprocess.run([sys.executable, PEER, path], capture_output=True, timeout=15)
        self.assertEqual(proc.returncode, 2)
        self.assertIn(b'exactly one action', proc.stderr)

    def test_python_script(self):
        path = os.path.join(self.dir, 'script.py')
        with open(path, 'w') as f:
            f.write('TIMEOUT = 5\nSCRIPT = [{"send": b"220 \\xff\\r\\n"}, {"expect_eof": True}]\n')
        proc = subprocess.Popen([sys.executable, PEER, path], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        port = int(proc.stdout.readline().split()[1])
        s = socket.create_connection(('127.0.0.1', port), timeout=5)
        self.assertEqual(recv_until(s, b'\r\n'), b'220 \xff\r\n')
        s.close()
        out, err = proc.communicate(timeout=15)
        self.assertEqual(proc.returncode, 0, err)


if __name__ == '__main__':
    unittest.main(verbosity=2)
