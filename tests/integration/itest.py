#!/usr/bin/python3
"""Shared helpers of the integration tests: run itool (the C client built
with the library, path in $MAILOUT_ITOOL), parse its RESULT lines, make
input files, and parse delivered messages with Python's email package.

    r = itest.run(['--host', ..., '--text-data', 'hi'])
    r.results[0].status, .stage, .code, .text ; r.session ; r.rc ; r.out
"""

import email.parser
import email.policy
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'servers'))
import servers  # noqa: E402,F401  (re-exported for the tests)

ITOOL = os.environ.get('MAILOUT_ITOOL') or os.path.join(
    os.environ.get('MAILOUT_BUILD_ROOT', 'build-test'), 'tests', 'integration', 'itool')

RESULT_RE = re.compile(
    r'RESULT status=(\S+) stage=(\S+) code=(\d+) enh=(\S+) rcpt_ok=(\d+) '
    r'rcpt_failed=(\d+) bytes=(\d+) text=(.*)')


class Result:
    def __init__(self, m):
        self.status, self.stage = m.group(1), m.group(2)
        self.code = int(m.group(3))
        self.enh = m.group(4)
        self.rcpt_ok, self.rcpt_failed = int(m.group(5)), int(m.group(6))
        self.bytes = int(m.group(7))
        self.text = m.group(8)

    def __repr__(self):
        return '<%s %s %d %s>' % (self.status, self.stage, self.code, self.text)


class Run:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr.decode('utf-8', 'replace')
        self.results = []
        self.session = None
        self.rcpt = []   # (index, code) in the order reported
        if isinstance(self.out, bytes):
            text = self.out.decode('utf-8', 'replace')
        for line in text.splitlines():
            m = RESULT_RE.fullmatch(line)
            if m:
                self.results.append(Result(m))
            elif line.startswith('RCPT index='):
                f = dict(kv.split('=') for kv in line.split()[1:])
                self.rcpt.append((int(f['index']), int(f['code'])))
            elif line.startswith('SESSION status='):
                self.session = line.split('=', 1)[1].split()[0]

    @property
    def r(self):
        """The only result."""
        assert len(self.results) == 1, 'expected one RESULT line, got %r (stderr %s)' % (
            self.results, self.err[-2000:])
        return self.results[0]

    def __repr__(self):
        return 'rc=%d results=%r session=%r stderr=%s' % (self.rc, self.results, self.session,
                                                          self.err[-1500:])


def run(args, timeout=60, check_sanitizers=True):
    """Run itool; fails on sanitizer reports or crashes."""
    p = subprocess.run([ITOOL] + [a if isinstance(a, (str, bytes)) else str(a) for a in args],
                       capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    r = Run(p)
    if check_sanitizers:
        assert r.rc in (0, 1), 'itool crashed or failed locally: %r' % r
        assert 'runtime error' not in r.err and 'AddressSanitizer' not in r.err, r.err
    return r


def dry_run(args, smtp=False):
    p = subprocess.run([ITOOL, '--dry-run-smtp' if smtp else '--dry-run'] + list(args),
                       capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    return p


class Files:
    """A temporary directory of input files."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix='mailout-itest-')

    def make(self, name, data):
        path = os.path.join(self.dir, name)
        with open(path, 'wb') as f:
            f.write(data)
        return path

    def cleanup(self):
        import shutil
        shutil.rmtree(self.dir, ignore_errors=True)


def parse(raw):
    """A message parsed by Debian's Python email package (policy.default)."""
    return email.parser.BytesParser(policy=email.policy.default).parsebytes(raw)


def crlf(data):
    """Every line ending (CRLF, lone LF, lone CR) as CRLF: what mailout
    makes of text."""
    return re.sub(rb'\r\n|\n|\r', b'\r\n', data)


def lf(data):
    """Every line ending as LF (Maildir and smtp-sink files)."""
    return re.sub(rb'\r\n|\n|\r', b'\n', data)


def header_block(raw):
    """The header lines of a message (bytes up to the first empty line)."""
    for sep in (b'\r\n\r\n', b'\n\n'):
        i = raw.find(sep)
        if i >= 0:
            return raw[:i + len(sep) // 2]
    return raw


class Proxy:
    """A TCP relay in front of a server that records what the client sent
    (and what the server answered), to show what a real server saw on the
    wire. After STARTTLS the record is ciphertext.

        with Proxy(port) as px:   # px.port
            ...
        px.client_bytes, px.server_bytes
    """

    def __init__(self, upstream_port, host='127.0.0.1'):
        import socket
        import threading
        self.upstream = (host, upstream_port)
        self.listener = socket.socket()
        self.listener.bind(('127.0.0.1', 0))
        self.listener.listen(4)
        self.listener.settimeout(15)
        self.port = self.listener.getsockname()[1]
        self.client_bytes = b''
        self.server_bytes = b''
        self.lock = threading.Lock()
        self.threads = []
        self.accepted = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _pump(self, src, dst, attr):
        import socket
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                with self.lock:
                    setattr(self, attr, getattr(self, attr) + data)
                dst.sendall(data)
        except OSError:
            pass
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def _serve(self):
        import socket
        import threading
        try:
            c, _ = self.listener.accept()
        except OSError:
            return
        self.accepted += 1
        s = socket.create_connection(self.upstream, timeout=30)
        c.settimeout(60)
        s.settimeout(60)
        self.threads = [threading.Thread(target=self._pump, args=(c, s, 'client_bytes'), daemon=True),
                        threading.Thread(target=self._pump, args=(s, c, 'server_bytes'), daemon=True)]
        for t in self.threads:
            t.start()
        for t in self.threads:
            t.join(60)
        c.close()
        s.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.thread.join(30)
        self.listener.close()
        return False


def no_connection(listener_sock):
    """True if nobody connected to a listening socket (nothing in the
    accept queue)."""
    import select
    r, _, _ = select.select([listener_sock], [], [], 0)
    return not r
