#!/usr/bin/python3
"""Building blocks for the adversarial tests over the scripted peer
(tests/peer/peer.py): script steps for a normal session, a runner that
starts the peer, runs itool against it and returns both sides, and checks
on the peer's record of what the client sent."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import itest  # noqa: E402
from itest import servers  # noqa: E402

EHLO_NAME = 'client.example'
GREETING = {'send': '220 peer.test ESMTP\r\n'}
QUIT = {'expect_line': 'QUIT\r\n', 'reply': '221 2.0.0 bye\r\n'}
EOF = {'expect_eof': True, 'timeout': 5}
RSET = {'expect_line': 'RSET\r\n', 'reply': '250 2.0.0 ok\r\n'}

# The message every script expects unless told otherwise (deterministic:
# seeded boundaries, fixed date and Message-ID).
MSG_ARGS = ['--from', 'a@example.com', '--to', 'b@example.com', '--subject', 'peer',
            '--seed', '7', '--date', '1700000000', '--message-id', '<p@itest.example>']
# The same without the recipient, for tests that choose their own.
MSG_ARGS_NO_RCPT = MSG_ARGS[:2] + MSG_ARGS[4:]
TEXT = 'hello\n.\nworld\n'


def ehlo_reply(*caps):
    lines = ['peer.test'] + list(caps)
    return ''.join('250-%s\r\n' % l for l in lines[:-1]) + '250 %s\r\n' % lines[-1]


def ehlo(*caps):
    return {'expect_line': 'EHLO %s\r\n' % EHLO_NAME, 'reply': ehlo_reply(*caps)}


def line(text, reply):
    """Expect exactly this command line (CRLF added), then reply."""
    return {'expect_line': text + '\r\n', 'reply': reply}


def mail(reply='250 2.1.0 ok\r\n', params=''):
    return line('MAIL FROM:<a@example.com>' + params, reply)


def rcpt(addr='b@example.com', reply='250 2.1.5 ok\r\n'):
    return line('RCPT TO:<%s>' % addr, reply)


def data_cmd(reply='354 go ahead\r\n'):
    return line('DATA', reply)


def data(expect_bytes=None, reply='250 2.0.0 queued\r\n'):
    st = {'expect_data': True, 'reply': reply}
    if expect_bytes is not None:
        st['data'] = expect_bytes.decode('latin-1')
    return st


def wire_message(args=(), text=TEXT):
    """The DATA stream itool sends for MSG_ARGS + args (from --dry-run-smtp)."""
    p = itest.dry_run(MSG_ARGS + ['--text-data', text] + list(args), smtp=True)
    assert p.returncode == 0, p.stderr
    return p.stdout


def transaction(wire=None):
    """MAIL, RCPT, DATA, the data: one message without PIPELINING."""
    return [mail(), rcpt(), data_cmd(), data(wire if wire is not None else wire_message())]


def happy(*caps, wire=None):
    return [GREETING, ehlo(*caps)] + transaction(wire) + [QUIT]


def client_args(port, tls='none', text=TEXT, extra=()):
    a = ['--host', '127.0.0.1', '--port', port, '--tls', tls, '--ehlo', EHLO_NAME,
         '--timeout-ms', '4000', '--cafile', servers.ca_file(), '--server-name', 'localhost']
    # recipients given by the test replace the default one
    a += MSG_ARGS_NO_RCPT if '--to' in extra else MSG_ARGS
    if text is not None:
        a += ['--text-data', text]
    return a + list(extra)


class Session:
    """The outcome of one itool run against one peer script."""

    def __init__(self, run, peer):
        self.run, self.peer = run, peer
        self.results = run.results
        self.records = peer.records
        self.record = peer.records[0] if peer.records else b''

    @property
    def r(self):
        return self.run.r

    def __repr__(self):
        return '%r\npeer: ok=%s error=%s\nrecord: %r' % (self.run, self.peer.ok, self.peer.error,
                                                        self.record[:2000])


def session(script, args=(), tls='none', text=TEXT, timeout=10, port_args=None):
    """Run itool (args after the defaults) against the peer script."""
    with servers.Peer(script, timeout=timeout) as p:
        run = itest.run(client_args(p.port, tls=tls, text=text, extra=args), timeout=timeout + 10)
    return Session(run, p.result)


# ---------------------------------------------------------------- wire checks

# <LF>.<LF>, <LF>.<CR><LF>, <CR><LF>.<LF>, <CR>.<CR>, <CR>.<LF> with bare
# line ends (the real terminator <CR><LF>.<CR><LF> contains two of them as
# substrings, hence the lookbehinds).
EARLY_TERMINATORS = (rb'(?<!\r)\n\.\n', rb'(?<!\r)\n\.\r\n', rb'\r\n\.\n', rb'\r\.\r', rb'\r\.(?<!\r)\n')


def bare_line_ends(b):
    """Offsets of CR not followed by LF and LF not preceded by CR."""
    return [m.start() for m in re.finditer(rb'\r(?!\n)|(?<!\r)\n', b)]


def commands(record):
    """The command lines of a record outside DATA bodies (stops at DATA)."""
    return record.split(b'\r\n')
