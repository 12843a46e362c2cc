#!/usr/bin/python3
"""sink.sh through servers.Sink: for every stage and every action the
client sees exactly the expected reply (or EOF) at that stage and not
before; an undisturbed sink accepts and dumps the message."""

import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers  # noqa: E402

# stage -> what the client sends to reach it (connect: nothing)
STEPS = [
    ('connect', None),
    ('helo', b'EHLO client.test\r\n'),
    ('mail', b'MAIL FROM:<a@example.com>\r\n'),
    ('rcpt', b'RCPT TO:<b@example.com>\r\n'),
    ('data', b'DATA\r\n'),
    ('eod', b'Subject: t\r\n\r\nbody\r\n.\r\n'),
    ('quit', b'QUIT\r\n'),
]
# action -> first line of the reply at the failing stage (None: EOF)
EXPECT = {
    'reject': b'500 5.3.0 Error: command failed\r\n',
    'tempfail': b'450 4.3.0 Error: command failed\r\n',
    '421': b'421 4.0.0 Server closing connection\r\n',
    'drop': None,
}
OK_CODE = {'connect': b'220', 'helo': b'250', 'mail': b'250', 'rcpt': b'250', 'data': b'354',
           'eod': b'250', 'quit': b'221'}


def read_reply(s):
    """One complete (possibly multi-line) reply, or b'' on EOF."""
    data = b''
    while True:
        lines = data.split(b'\r\n')
        if len(lines) >= 2 and len(lines[-2]) >= 4 and lines[-2][3:4] == b' ':
            return data
        try:
            chunk = s.recv(4096)
        except ConnectionResetError:
            chunk = b''
        if not chunk:
            return data
        data += chunk


def run_until(port, stage):
    """Drive a session; return the reply at `stage` (b'' = EOF), after
    checking every earlier stage succeeded. Also returns whether the
    server closed the connection right after."""
    s = socket.create_connection(('127.0.0.1', port), timeout=10)
    try:
        for name, cmd in STEPS:
            if cmd is not None:
                s.sendall(cmd)
            reply = read_reply(s)
            if name == stage:
                s.settimeout(0.5)
                try:
                    after = s.recv(100)
                except socket.timeout:
                    after = None  # still open
                except ConnectionResetError:
                    after = b''
                return reply, after
            assert reply.startswith(OK_CODE[name]), (name, reply)
    finally:
        s.close()


class SinkTests(unittest.TestCase):

    def test_every_stage_every_action(self):
        for action, want in EXPECT.items():
            for stage, _ in STEPS[:6]:
                with self.subTest(action=action, stage=stage):
                    with servers.Sink(stage, action, timeout=30) as s:
                        reply, after = run_until(s.port, stage)
                    # want None: closed without a reply
                    self.assertEqual(reply, want if want is not None else b'')
                    if action in ('421', 'drop'):
                        self.assertEqual(after, b'')      # and the server closed
                    else:
                        self.assertIsNone(after)         # reject: session goes on

    def test_accepts_and_dumps(self):
        with servers.Sink(timeout=30) as s:
            reply, after = run_until(s.port, 'quit')
            self.assertEqual(reply, b'221 Bye\r\n')
            msgs = s.messages()
        self.assertEqual(len(msgs), 1)
        self.assertIn(b'X-Mail-Args: <a@example.com>\n', msgs[0])
        self.assertIn(b'X-Rcpt-Args: <b@example.com>\n', msgs[0])
        self.assertTrue(msgs[0].endswith(b'Subject: t\n\nbody\n\n'), msgs[0])

    def test_several_faults(self):
        with servers.Sink(faults=[('tempfail', 'mail'), ('reject', 'rcpt')], timeout=30) as s:
            sk = socket.create_connection(('127.0.0.1', s.port), timeout=10)
            self.assertTrue(read_reply(sk).startswith(b'220 '))
            sk.sendall(b'HELO x\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\n')
            got = b''
            while got.count(b'\r\n') < 3:
                chunk = sk.recv(4096)
                if not chunk:
                    break
                got += chunk
            sk.close()
        self.assertEqual(got, b'250 sink.test\r\n' + EXPECT['tempfail'] + EXPECT['reject'])


if __name__ == '__main__':
    unittest.main(verbosity=2)
