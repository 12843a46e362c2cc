#!/usr/bin/python3
"""Test servers as context managers, for mailout's CLI and integration
tests. Every server listens on 127.0.0.1 on a port chosen at run time and
has a bounded lifetime; leaving the `with` block stops it.

    import sys, os
    sys.path.insert(0, os.path.join(os.environ['MAILOUT_SOURCE_ROOT'], 'tests', 'servers'))
    import servers

    servers.ca_file()            # the test CA (certificates made on first use)
    servers.certs_dir()          # ca.pem, server.pem, wronghost.pem, ...

    with servers.Postfix() as pf:            # real Postfix 3.7 (root only)
        pf.host, pf.port                     # STARTTLS offered
        pf.port_encrypt                      # STARTTLS required before MAIL
        pf.port_smtps                        # implicit TLS
        pf.wait_messages(1)                  # [bytes] of each delivered file
                                             # (Maildir: LF line ends, Postfix
                                             # adds Return-Path, Delivered-To,
                                             # Received at the top)
        servers.body_of(msg)                 # the part after the header block
        pf.maildir, pf.maillog

    with servers.Aiosmtpd(user='u', password='p', require_starttls=False,
                          auth_required=False, auth_require_tls=True) as s:
        s.port
        s.wait_messages(1)                   # [(envelope dict, bytes)], bytes
                                             # exactly as received (CRLF),
                                             # after dot-unstuffing

    with servers.Sink(stage='rcpt', action='reject') as s:   # smtp-sink
        s.port                               # actions: reject (5xx), tempfail
        s.messages()                         # (4xx), drop (no reply, close),
                                             # 421; stages: connect, helo,
                                             # mail, rcpt, data, eod, rset,
                                             # noop, quit
    with servers.Peer(script) as p:          # the scripted peer, in-process
        p.port, p.record                     # record file of connection 0
    p.result.ok, p.result.error, p.result.records, p.result.bodies
    p.check()                                # AssertionError on deviation

Pass dir=... to keep a server's files (log, messages) somewhere; by default
a temporary directory is used and removed (kept if MAILOUT_KEEP_TMP is set).
"""

import glob
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'peer'))
import peer as _peer  # noqa: E402

PYTHON = '/usr/bin/python3'
HOST = '127.0.0.1'


def certs_dir():
    """Directory of the test certificates (generated on first use)."""
    return _peer.ensure_certs()


def ca_file():
    return os.path.join(certs_dir(), 'ca.pem')


def body_of(msg):
    """The body of a message: what follows the first empty line (CRLF or LF)."""
    for sep in (b'\r\n\r\n', b'\n\n'):
        i = msg.find(sep)
        if i >= 0:
            return msg[i + len(sep):]
    return b''


def _wait_for(fn, n, timeout, what):
    end = time.monotonic() + timeout
    while True:
        got = fn()
        if len(got) >= n:
            return got
        if time.monotonic() > end:
            raise AssertionError('%s: %d message(s) after %.0f s, expected %d'
                                 % (what, len(got), timeout, n))
        time.sleep(0.05)


class _TmpDir:
    def _init_dir(self, d, prefix):
        self._own_dir = d is None
        self.dir = os.path.abspath(d) if d else tempfile.mkdtemp(prefix=prefix)
        os.makedirs(self.dir, exist_ok=True)

    def _cleanup_dir(self):
        if self._own_dir and not os.environ.get('MAILOUT_KEEP_TMP'):
            shutil.rmtree(self.dir, ignore_errors=True)


def _read_port(proc, timeout, what):
    """Read the "PORT n" line of a child, bounded."""
    r, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline() if r else b''
    if not line.startswith(b'PORT '):
        proc.kill()
        proc.wait()
        raise RuntimeError('%s did not start (got %r)' % (what, line))
    return int(line.split()[1])


class Postfix(_TmpDir):
    """A private Postfix instance (tests/servers/postfix.sh)."""

    def __init__(self, dir=None, size_limit=None, lifetime=300):
        self._init_dir(dir, 'mailout-postfix-')
        self.args = []
        if size_limit is not None:
            self.args += ['--size-limit', str(size_limit)]
        self.args += ['--lifetime', str(lifetime)]
        self.host = HOST
        self.maildir = os.path.join(self.dir, 'mail', 'inbox')
        self.maillog = os.path.join(self.dir, 'maillog')

    def __enter__(self):
        r = subprocess.run(['sh', os.path.join(HERE, 'postfix.sh'), 'start', self.dir] + self.args,
                           capture_output=True, timeout=40)
        if r.returncode != 0:
            self._cleanup_dir()
            raise RuntimeError('postfix.sh start failed: %s' % r.stderr.decode(errors='replace'))
        self.port = self._port('port')
        self.port_encrypt = self._port('port_encrypt')
        self.port_smtps = self._port('port_smtps')
        return self

    def _port(self, name):
        with open(os.path.join(self.dir, name)) as f:
            return int(f.read())

    def __exit__(self, *exc):
        subprocess.run(['sh', os.path.join(HERE, 'postfix.sh'), 'stop', self.dir],
                       capture_output=True, timeout=30)
        self._cleanup_dir()
        return False

    def message_files(self):
        files = glob.glob(os.path.join(self.maildir, 'new', '*'))
        return sorted(files, key=lambda p: (os.stat(p).st_mtime_ns, p))

    def messages(self):
        out = []
        for p in self.message_files():
            with open(p, 'rb') as f:
                out.append(f.read())
        return out

    def wait_messages(self, n=1, timeout=15):
        return _wait_for(self.messages, n, timeout, 'Postfix')


class Aiosmtpd(_TmpDir):
    """aiosmtpd_server.py in a child process."""

    def __init__(self, dir=None, user=None, password=None, tls=True, require_starttls=False,
                 auth_required=False, auth_require_tls=True, size_limit=None, smtputf8=False,
                 timeout=60):
        self._init_dir(dir, 'mailout-aiosmtpd-')
        self.host = HOST
        a = [PYTHON, os.path.join(HERE, 'aiosmtpd_server.py'), '--dir', self.dir,
             '--timeout', str(timeout), '--auth-require-tls', 'yes' if auth_require_tls else 'no']
        if user is not None:
            a += ['--user', user, '--password', password]
        if not tls:
            a.append('--no-tls')
        if require_starttls:
            a.append('--require-starttls')
        if auth_required:
            a.append('--auth-required')
        if size_limit is not None:
            a += ['--size-limit', str(size_limit)]
        if smtputf8:
            a.append('--smtputf8')
        self.argv = a

    def __enter__(self):
        self.log = open(os.path.join(self.dir, 'server.log'), 'wb')
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=self.log,
                                     stdin=subprocess.DEVNULL)
        self.port = _read_port(self.proc, 15, 'aiosmtpd_server.py')
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.log.close()
        self._cleanup_dir()
        return False

    def messages(self):
        out = []
        n = 0
        while os.path.exists(os.path.join(self.dir, '%d.json' % n)):
            with open(os.path.join(self.dir, '%d.json' % n)) as f:
                env = json.load(f)
            with open(os.path.join(self.dir, '%d.eml' % n), 'rb') as f:
                out.append((env, f.read()))
            n += 1
        return out

    def wait_messages(self, n=1, timeout=10):
        return _wait_for(self.messages, n, timeout, 'aiosmtpd')


class Sink(_TmpDir):
    """Postfix's smtp-sink (tests/servers/sink.sh), optionally failing at
    one stage: Sink('rcpt', 'reject'), or several: Sink(faults=[('drop',
    'data'), ('tempfail', 'mail')])."""

    def __init__(self, stage=None, action=None, dir=None, faults=(), timeout=60):
        self._init_dir(dir, 'mailout-sink-')
        self.host = HOST
        faults = list(faults)
        if stage is not None:
            faults.append((action, stage))
        self.args = []
        for act, stg in faults:
            if act not in ('reject', 'tempfail', 'drop', '421'):
                raise ValueError('unknown sink action %r' % act)
            self.args += ['--' + act, stg]
        self.args += ['--timeout', str(timeout)]

    def __enter__(self):
        r = subprocess.run(['sh', os.path.join(HERE, 'sink.sh'), 'start', self.dir] + self.args,
                           capture_output=True, timeout=30)
        if r.returncode != 0:
            self._cleanup_dir()
            raise RuntimeError('sink.sh start failed: %s' % r.stderr.decode(errors='replace'))
        self.port = int(r.stdout)
        return self

    def __exit__(self, *exc):
        subprocess.run(['sh', os.path.join(HERE, 'sink.sh'), 'stop', self.dir],
                       capture_output=True, timeout=30)
        self._cleanup_dir()
        return False

    def messages(self):
        """Dump files (smtp-sink's X-* and Received lines, then the message,
        LF line ends), oldest first."""
        files = glob.glob(os.path.join(self.dir, 'msgs', 'm.*'))
        out = []
        for p in sorted(files, key=lambda p: (os.stat(p).st_mtime_ns, p)):
            with open(p, 'rb') as f:
                out.append(f.read())
        return out


class Peer(_TmpDir):
    """The scripted peer (tests/peer/peer.py) in a thread of this process,
    recording to dir/record (connection n >= 1: dir/record.n)."""

    def __init__(self, script, dir=None, timeout=None):
        self._init_dir(dir, 'mailout-peer-')
        self.host = HOST
        self.record = os.path.join(self.dir, 'record')
        self.peer = _peer.Peer(script, timeout=timeout, record=self.record)
        self.port = self.peer.port
        self.result = None

    def __enter__(self):
        self.peer.start()
        return self

    def __exit__(self, *exc):
        self.result = self.peer.wait()
        self._cleanup_dir()
        return False

    def wait(self):
        self.result = self.peer.wait()
        return self.result

    def check(self):
        res = self.result or self.wait()
        if not res.ok:
            raise AssertionError('peer: ' + res.error)
        return res
