#!/usr/bin/python3
"""Scripted SMTP peer for fault-injection tests of mailout's client.

It listens on 127.0.0.1, serves one TCP connection after another, and for
each one walks a list of steps (send these bytes, expect that command, start
TLS, close with RST, ...). It records every byte the client sent. If the
client does anything the script does not expect, the peer stops and reports
a *deviation*: a test can therefore assert both what the client did and what
the peer saw.

Command line (used by the C helper peer_run.c and by shell tests):

    peer.py [--port N] [--record FILE] [--log FILE] [--timeout S]
            [--certs DIR] SCRIPT
    peer.py --ensure-certs [DIR]      # generate test certs, print the dir

It prints "PORT <n>" on stdout when it listens, and exits 0 when the script
ran to the end, 1 when the client deviated or a step timed out (the reason is
on stderr, prefixed "peer: "), 2 when the script or the arguments are bad.
--timeout (default 20 s, or the script's "timeout") bounds the whole run.

--record FILE gets the raw bytes the client sent on connection 0 (what it
sent after STARTTLS is recorded decrypted); connection n >= 1 goes to
FILE.n. --log FILE (default: FILE.json next to the record) gets a JSON list
of events.

Script (JSON file, or a Python file defining SCRIPT and optionally TIMEOUT):

    {"timeout": 10, "connections": [[step, ...], [step, ...]]}
    [[step, ...], [step, ...]]      # same, default timeout
    [step, ...]                     # one connection

Strings are bytes: each character U+0000..U+00FF is one byte (JSON "\\r\\n"
escapes are CR LF, "\\u00ff" is the byte 0xff). Python scripts may use bytes.
Each step is an object with exactly one action key, plus options:

    {"send": "220 hi\\r\\n"}            write bytes (merge replies: put them
                                      in one string = one write)
        "split": [3, 10]              ... in pieces cut at these offsets,
        "split": "each"               ... or one byte per write,
        "split_delay": 0.05           ... sleeping this long between pieces
    {"inject_after_220": "250 x\\r\\n"} write "220 2.0.0 Ready to start TLS\\r\\n"
                                      and these bytes in ONE write
        "reply": "220 go\\r\\n"         ... with this 220 line instead
    {"expect": "EHLO"}                read one line; it must start with this
                                      (case-insensitive)
    {"expect_re": "MAIL FROM:<.*>"}   read one line; re.fullmatch on the line
                                      without CRLF (use (?i) for no case)
    {"expect_line": "QUIT\\r\\n"}       read one line; must equal these bytes
        (the three above) every line must end in CRLF unless
        "bare_lf": true; "reply": "250 ok\\r\\n" sends after a match
    {"expect_data": true}             read up to and including CRLF.CRLF
        "data": "Subject: x\\r\\n..\\r\\n.\\r\\n"  exact bytes expected (as
                                      on the wire: stuffed, with the ".\\r\\n")
        "reply": ...
    {"expect_bdat": true}             read "BDAT <n>[ LAST]\\r\\n" and n bytes
        "last": true|false            assert the LAST keyword
        "data": "..."                 exact chunk expected
        "reply": ...
    {"delay": 0.2}                    sleep
    {"close": "fin"}                  shutdown(WR), drain the client, close
    {"close": "rst"}                  close with SO_LINGER 0 (sends RST; as
                                      the first steps, the RST can reach the
                                      client before its connect() returns)
    {"close": "notify"}               TLS close_notify, then as "fin"
    {"starttls": true}                TLS handshake as server
        "cert": "server"              NAME.pem/NAME.key from the certs dir
                                      (server, wronghost, expired, selfsigned)
        "chain": true                 send NAME-chain.pem (leaf + CA)
        "min_version": "TLSv1_2"      ssl.TLSVersion names (also "max_version")
        "handshake": "fail"           expect the client to abort the handshake
        "expect_sni": "localhost"     the client must send this SNI
        "require_client_cert": true   ask for a client cert signed by ca.pem
    {"expect_eof": true}              the client must close (FIN or RST) and
                                      send nothing more
    {"expect_nothing": 0.3}           the client must send nothing (and not
                                      close) for 0.3 s
    {"read_all": true}                record whatever comes until EOF

Every reading step accepts "timeout": seconds (default: until the global
deadline). Any step may carry "note": "text" (ignored). When a
connection's steps run out, it is closed as with "close": "fin".

Library use (the peer runs in a thread of the calling process):

    import peer
    with peer.Peer(script) as p:          # script: path, list or dict
        smtplib.SMTP('127.0.0.1', p.port)...
    res = p.wait()                        # PeerResult
    res.ok, res.error, res.records[i], res.bodies, res.events
    p.check()                             # raises AssertionError on deviation
"""

import argparse
import fcntl
import importlib.util
import json
import os
import re
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MKCERTS = os.path.join(HERE, '..', 'certs', 'mkcerts.sh')
DEFAULT_TIMEOUT = 20.0
MAX_LINE = 65536


class Deviation(Exception):
    """The client did something the script did not expect (or nothing)."""


class ScriptError(Exception):
    """The script itself is malformed."""


# ---------------------------------------------------------------- certs

def default_certs_dir():
    """Where the test certificates live unless told otherwise."""
    if os.environ.get('MAILOUT_CERTS_DIR'):
        return os.environ['MAILOUT_CERTS_DIR']
    if os.environ.get('MAILOUT_BUILD_ROOT'):
        return os.path.join(os.environ['MAILOUT_BUILD_ROOT'], 'test-certs')
    return os.path.join(tempfile.gettempdir(), 'mailout-test-certs-%d' % os.getuid())


def ensure_certs(certs_dir=None):
    """Run mkcerts.sh into certs_dir once (safe when tests run in parallel:
    they serialize on a lock file beside the directory). Returns the dir."""
    d = os.path.abspath(certs_dir or default_certs_dir())
    if os.path.exists(os.path.join(d, 'done')):
        return d
    os.makedirs(os.path.dirname(d), exist_ok=True)
    with open(d + '.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(os.path.join(d, 'done')):
            subprocess.run(['sh', MKCERTS, d], check=True, timeout=60,
                           stdout=subprocess.DEVNULL)
    return d


# ---------------------------------------------------------------- script

def to_bytes(v, what):
    if isinstance(v, bytes):
        return v
    if isinstance(v, str):
        try:
            return v.encode('latin-1')
        except UnicodeEncodeError:
            raise ScriptError('%s: characters above U+00FF are not bytes' % what)
    raise ScriptError('%s: expected a string, got %r' % (what, v))


ACTIONS = {
    'send': {'split', 'split_delay'},
    'inject_after_220': {'reply'},
    'expect': {'reply', 'timeout', 'bare_lf'},
    'expect_re': {'reply', 'timeout', 'bare_lf'},
    'expect_line': {'reply', 'timeout', 'bare_lf'},
    'expect_data': {'data', 'reply', 'timeout'},
    'expect_bdat': {'data', 'last', 'reply', 'timeout'},
    'delay': set(),
    'close': set(),
    'starttls': {'cert', 'chain', 'min_version', 'max_version', 'handshake',
                 'expect_sni', 'require_client_cert', 'timeout'},
    'expect_eof': {'timeout'},
    'expect_nothing': set(),
    'read_all': {'timeout'},
}


def check_step(step, where):
    if not isinstance(step, dict):
        raise ScriptError('%s: a step must be an object, got %r' % (where, step))
    acts = [k for k in step if k in ACTIONS]
    if len(acts) != 1:
        raise ScriptError('%s: a step needs exactly one action of %s, got %r'
                          % (where, sorted(ACTIONS), step))
    act = acts[0]
    extra = set(step) - {act, 'note'} - ACTIONS[act]
    if extra:
        raise ScriptError('%s: unknown option(s) %s for %s' % (where, sorted(extra), act))
    if act == 'close' and step[act] not in ('fin', 'rst', 'notify'):
        raise ScriptError('%s: close must be "fin", "rst" or "notify"' % where)
    if act == 'starttls' and step.get('handshake', 'ok') not in ('ok', 'fail'):
        raise ScriptError('%s: handshake must be "ok" or "fail"' % where)
    if act == 'send':
        to_bytes(step['send'], where)
        split = step.get('split')
        if split is not None and split != 'each' and not (
                isinstance(split, list) and all(isinstance(i, int) for i in split)):
            raise ScriptError('%s: split must be a list of offsets or "each"' % where)
    if act in ('delay', 'expect_nothing') and not isinstance(step[act], (int, float)):
        raise ScriptError('%s: %s needs a number of seconds' % (where, act))
    if act == 'expect_re':
        try:
            re.compile(step[act])
        except re.error as e:
            raise ScriptError('%s: bad regex: %s' % (where, e))
    for k in ('reply', 'data'):
        if k in step:
            to_bytes(step[k], '%s: %s' % (where, k))
    return act


def normalize_script(obj, timeout=None):
    """Return (connections, timeout) from any accepted script shape."""
    if isinstance(obj, dict):
        extra = set(obj) - {'connections', 'timeout', 'note'}
        if extra or 'connections' not in obj:
            raise ScriptError('script object needs "connections" (and optional '
                              '"timeout"), got keys %s' % sorted(obj))
        if timeout is None:
            timeout = obj.get('timeout')
        conns = obj['connections']
    else:
        conns = obj
    if not isinstance(conns, list) or not conns:
        raise ScriptError('script needs a non-empty list of connections')
    if all(isinstance(s, dict) for s in conns):
        conns = [conns]
    for i, steps in enumerate(conns):
        if not isinstance(steps, list):
            raise ScriptError('connection %d: expected a list of steps' % i)
        for k, step in enumerate(steps):
            check_step(step, 'connection %d step %d' % (i, k))
    return conns, float(timeout if timeout is not None else DEFAULT_TIMEOUT)


def load_script(path):
    """Load a .json script or a Python file with SCRIPT (and TIMEOUT)."""
    if path.endswith('.py'):
        spec = importlib.util.spec_from_file_location('peer_script', path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        if not hasattr(mod, 'SCRIPT'):
            raise ScriptError('%s defines no SCRIPT' % path)
        return normalize_script(mod.SCRIPT, getattr(mod, 'TIMEOUT', None))
    with open(path, 'rb') as f:
        try:
            obj = json.loads(f.read().decode('utf-8'))
        except ValueError as e:
            raise ScriptError('%s: %s' % (path, e))
    return normalize_script(obj)


def show(b, limit=200):
    """Printable form of bytes for messages."""
    s = repr(bytes(b[:limit]))[2:-1]
    return s + ('...(%d bytes)' % len(b) if len(b) > limit else '')


def first_diff(exp, got):
    n = min(len(exp), len(got))
    i = next((i for i in range(n) if exp[i] != got[i]), n)
    lo = max(0, i - 20)
    return ('differ at offset %d (expected %d bytes, got %d): expected ...%s... got ...%s...'
            % (i, len(exp), len(got), show(exp[lo:i + 40]), show(got[lo:i + 40])))


# ---------------------------------------------------------------- one connection

class Conn:
    """One accepted connection and its read buffer."""

    def __init__(self, peer, idx, sock):
        self.peer, self.idx, self.sock = peer, idx, sock
        self.buf = b''
        self.eof = False
        self.closed = False
        self.step = -1
        self.tls = False
        self.record = None
        path = peer.record_path(idx)
        if path:
            self.record = open(path, 'wb')

    def event(self, kind, **kw):
        self.peer.event(self.idx, self.step, kind, **kw)

    def deadline(self, step):
        d = self.peer.deadline
        if 'timeout' in step:
            d = min(d, time.monotonic() + float(step['timeout']))
        return d

    def fill(self, deadline, what):
        """Read more bytes into buf; False on EOF. Raises Deviation on timeout."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise Deviation('timeout waiting for %s (have %s)' % (what, show(self.buf)))
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            raise Deviation('timeout waiting for %s (have %s)' % (what, show(self.buf)))
        except ConnectionResetError:
            self.event('rst')
            data = b''
        except ssl.SSLError as e:
            raise Deviation('TLS error while waiting for %s: %s' % (what, e))
        if not data:
            self.eof = True
            self.event('eof')
            return False
        self.event('recv', data=data.decode('latin-1'))
        self.peer.add_record(self.idx, data)
        if self.record:
            self.record.write(data)
            self.record.flush()
        self.buf += data
        return True

    def read_line(self, step, what):
        deadline = self.deadline(step)
        while b'\n' not in self.buf:
            if len(self.buf) > MAX_LINE:
                raise Deviation('line longer than %d bytes while waiting for %s' % (MAX_LINE, what))
            if not self.fill(deadline, what):
                raise Deviation('client closed the connection while we waited for %s%s'
                                % (what, ' (partial: %s)' % show(self.buf) if self.buf else ''))
        i = self.buf.index(b'\n') + 1
        line, self.buf = self.buf[:i], self.buf[i:]
        if not step.get('bare_lf') and not line.endswith(b'\r\n'):
            raise Deviation('line ends with a bare LF (waiting for %s): %s' % (what, show(line)))
        return line

    def read_exact(self, n, step, what):
        deadline = self.deadline(step)
        while len(self.buf) < n:
            if not self.fill(deadline, what):
                raise Deviation('client closed after %d of %d bytes of %s' % (len(self.buf), n, what))
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send(self, data):
        try:
            self.sock.sendall(data)
        except OSError as e:
            raise Deviation('client went away while we sent %s: %s' % (show(data), e))
        self.event('send', data=data.decode('latin-1'))

    def reply(self, step):
        if 'reply' in step:
            self.send(to_bytes(step['reply'], 'reply'))

    # --- actions; each takes the step dict

    def do_send(self, step):
        data = to_bytes(step['send'], 'send')
        split = step.get('split')
        if not split:
            self.send(data)
            return
        cuts = range(1, len(data)) if split == 'each' else sorted(split)
        pieces, prev = [], 0
        for c in cuts:
            if 0 < c < len(data) and c > prev:
                pieces.append(data[prev:c])
                prev = c
        pieces.append(data[prev:])
        delay = float(step.get('split_delay', 0.05))
        for k, p in enumerate(pieces):
            if k:
                time.sleep(delay)
            self.send(p)

    def do_inject_after_220(self, step):
        head = to_bytes(step.get('reply', '220 2.0.0 Ready to start TLS\r\n'), 'reply')
        self.send(head + to_bytes(step['inject_after_220'], 'inject_after_220'))

    def do_expect(self, step):
        want = to_bytes(step['expect'], 'expect')
        line = self.read_line(step, repr(want.decode('latin-1')))
        if not line.lower().startswith(want.lower()):
            raise Deviation('expected a line starting with %s, got %s' % (show(want), show(line)))
        self.reply(step)

    def do_expect_re(self, step):
        pat = step['expect_re']
        line = self.read_line(step, '/%s/' % pat)
        text = line.decode('latin-1').rstrip('\r\n')
        if not re.fullmatch(pat, text):
            raise Deviation('expected a line matching /%s/, got %s' % (pat, show(line)))
        self.reply(step)

    def do_expect_line(self, step):
        want = to_bytes(step['expect_line'], 'expect_line')
        line = self.read_line(step, show(want))
        if line != want:
            raise Deviation('expected exactly %s, got %s' % (show(want), show(line)))
        self.reply(step)

    def do_expect_data(self, step):
        deadline = self.deadline(step)
        # The CRLF that ended the DATA command counts, so an empty body is
        # just ".\r\n".
        while True:
            i = (b'\r\n' + self.buf).find(b'\r\n.\r\n')
            if i >= 0:
                break
            if not self.fill(deadline, 'the message data and CRLF.CRLF'):
                raise Deviation('client closed inside the message data after %d bytes: ...%s'
                                % (len(self.buf), show(self.buf[-80:])))
        end = i + 3  # offset in buf just past ".\r\n"
        body, self.buf = self.buf[:end], self.buf[end:]
        self.peer.add_body(self.idx, 'data', body)
        self.event('data', size=len(body))
        if 'data' in step:
            want = to_bytes(step['data'], 'data')
            if body != want:
                raise Deviation('message data ' + first_diff(want, body))
        self.reply(step)

    def do_expect_bdat(self, step):
        line = self.read_line(step, 'BDAT')
        m = re.fullmatch(rb'BDAT ([0-9]+)( LAST)?\r\n', line, re.IGNORECASE)
        if not m:
            raise Deviation('expected "BDAT <size>[ LAST]", got %s' % show(line))
        last = m.group(2) is not None
        if 'last' in step and bool(step['last']) != last:
            raise Deviation('expected BDAT %s LAST, got %s' % ('with' if step['last'] else 'without',
                                                               show(line)))
        chunk = self.read_exact(int(m.group(1)), step, 'the BDAT chunk')
        self.peer.add_body(self.idx, 'bdat', chunk)
        self.event('bdat', size=len(chunk), last=last)
        if 'data' in step:
            want = to_bytes(step['data'], 'data')
            if chunk != want:
                raise Deviation('BDAT chunk ' + first_diff(want, chunk))
        self.reply(step)

    def do_delay(self, step):
        time.sleep(max(0.0, min(float(step['delay']), self.peer.deadline - time.monotonic())))

    def do_close(self, step):
        how = step['close']
        if how == 'rst':
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            self.sock.close()
            self.closed = True
            self.event('close', how='rst')
            return
        if how == 'notify' and self.tls:
            try:
                self.sock.settimeout(1.0)
                self.sock = self.sock.unwrap()
            except (OSError, ValueError) as e:
                self.event('close_notify_error', error=str(e))
            self.tls = False
        self.close_fin()

    def close_fin(self):
        """Half-close, then read what the client still sends (until it
        closes, bounded) so that our close() does not turn into an RST."""
        try:
            # socket.socket's own shutdown: SSLSocket.shutdown would drop the
            # TLS state, and the drained bytes would be recorded encrypted.
            socket.socket.shutdown(self.sock, socket.SHUT_WR)
        except OSError:
            pass
        end = min(self.peer.deadline, time.monotonic() + 1.0)
        try:
            while not self.eof and time.monotonic() < end:
                self.fill(end, 'EOF after our close')
        except Deviation:
            pass
        self.sock.close()
        self.closed = True
        self.event('close', how='fin')

    def do_starttls(self, step):
        if self.buf:
            raise Deviation('client sent %s after STARTTLS before the TLS handshake'
                            % show(self.buf))
        certs = self.peer.certs()
        name = step.get('cert', 'server')
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        pem = os.path.join(certs, name + ('-chain.pem' if step.get('chain') else '.pem'))
        ctx.load_cert_chain(pem, os.path.join(certs, name + '.key'))
        for k, attr in (('min_version', 'minimum_version'), ('max_version', 'maximum_version')):
            if k in step:
                setattr(ctx, attr, ssl.TLSVersion[step[k]])
        if step.get('require_client_cert'):
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(os.path.join(certs, 'ca.pem'))
        sni = []
        ctx.sni_callback = lambda s, server_name, c: sni.append(server_name)
        expect_fail = step.get('handshake', 'ok') == 'fail'
        self.sock.settimeout(max(0.01, self.deadline(step) - time.monotonic()))
        try:
            tsock = ctx.wrap_socket(self.sock, server_side=True)
        except (ssl.SSLError, OSError) as e:
            self.event('handshake_failed', error=str(e), sni=sni[0] if sni else None)
            if not expect_fail:
                raise Deviation('TLS handshake failed: %s' % e)
            self.eof = True  # nothing more can be read from this connection
            return
        self.sock, self.tls = tsock, True
        self.event('tls', version=tsock.version(), cipher=tsock.cipher()[0],
                   sni=sni[0] if sni else None)
        if expect_fail:
            raise Deviation('the client completed a TLS handshake it should have refused')
        if 'expect_sni' in step and (sni[0] if sni else None) != step['expect_sni']:
            raise Deviation('expected SNI %r, got %r' % (step['expect_sni'], sni[0] if sni else None))

    def do_expect_eof(self, step):
        deadline = self.deadline(step)
        if self.buf:
            raise Deviation('expected the client to close, but it sent %s' % show(self.buf))
        while not self.eof:
            if self.fill(deadline, 'the client to close'):
                raise Deviation('expected the client to close, but it sent %s' % show(self.buf))

    def do_expect_nothing(self, step):
        end = min(self.peer.deadline, time.monotonic() + float(step['expect_nothing']))
        if self.buf:
            raise Deviation('expected silence, but the client sent %s' % show(self.buf))
        left = end - time.monotonic()
        if left <= 0:
            return
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except (socket.timeout, ssl.SSLWantReadError):
            return
        except ConnectionResetError:
            data = b''
        if data:
            self.peer.add_record(self.idx, data)
            if self.record:
                self.record.write(data)
                self.record.flush()
            raise Deviation('expected silence, but the client sent %s' % show(data))
        self.eof = True
        raise Deviation('expected silence, but the client closed the connection')

    def do_read_all(self, step):
        deadline = self.deadline(step)
        while not self.eof:
            self.fill(deadline, 'the client to close (read_all)')
        self.buf = b''

    def run(self, steps):
        for k, step in enumerate(steps):
            self.step = k
            act = next(a for a in step if a in ACTIONS)
            if self.closed:
                raise ScriptError('connection %d step %d: %s after close' % (self.idx, k, act))
            self.event('step', action=act)
            getattr(self, 'do_' + act)(step)
        self.step = len(steps)
        if not self.closed:
            self.close_fin()

    def finish(self):
        if not self.closed:
            try:
                self.sock.close()
            except OSError:
                pass
        if self.record:
            self.record.close()


# ---------------------------------------------------------------- the peer

class PeerResult:
    def __init__(self, peer):
        self.ok = peer.error is None
        self.error = peer.error
        self.records = list(peer.records)
        self.bodies = list(peer.bodies)
        self.events = list(peer.events)


class Peer:
    """The scripted peer; see the module docstring."""

    def __init__(self, script, certs_dir=None, timeout=None, record=None, log=None, port=0):
        if isinstance(script, (str, os.PathLike)):
            conns, t = load_script(os.fspath(script))
        else:
            conns, t = normalize_script(script)
        self.connections = conns
        self.timeout = float(timeout) if timeout is not None else t
        self._certs_dir = certs_dir
        self.record = record
        self.log = log if log is not None else (record + '.json' if record else None)
        self.records = []   # bytes per connection
        self.bodies = []    # {"conn", "kind", "bytes"} per DATA/BDAT body
        self.events = []
        self.error = None
        self.lock = threading.Lock()
        self.t0 = time.monotonic()
        self.deadline = self.t0 + self.timeout
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(('127.0.0.1', port))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.thread = None

    def certs(self):
        self._certs_dir = ensure_certs(self._certs_dir)
        return self._certs_dir

    def record_path(self, idx):
        if not self.record:
            return None
        return self.record if idx == 0 else '%s.%d' % (self.record, idx)

    def event(self, conn, step, kind, **kw):
        with self.lock:
            self.events.append(dict(t=round(time.monotonic() - self.t0, 4), conn=conn,
                                    step=step, event=kind, **kw))

    def add_record(self, idx, data):
        with self.lock:
            while len(self.records) <= idx:
                self.records.append(b'')
            self.records[idx] += data

    def add_body(self, idx, kind, data):
        with self.lock:
            self.bodies.append({'conn': idx, 'kind': kind, 'bytes': data})

    def serve(self):
        """Run the whole script; sets self.error on deviation."""
        try:
            for idx, steps in enumerate(self.connections):
                self.add_record(idx, b'')
                left = self.deadline - time.monotonic()
                if left <= 0:
                    raise Deviation('timeout waiting for connection %d' % idx)
                self.listener.settimeout(left)
                try:
                    sock, addr = self.listener.accept()
                except socket.timeout:
                    raise Deviation('timeout waiting for connection %d' % idx)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.event(idx, -1, 'accept', addr='%s:%d' % addr)
                conn = Conn(self, idx, sock)
                try:
                    conn.run(steps)
                finally:
                    conn.finish()
        except Deviation as e:
            where = ''
            if 'conn' in locals() and conn.idx == idx:
                where = 'connection %d step %d: ' % (idx, conn.step)
            self.error = where + str(e)
        except ScriptError as e:
            self.error = 'script error: %s' % e
        except Exception as e:  # a bug here must still end the run with a message
            self.error = 'internal error: %s: %s' % (type(e).__name__, e)
        finally:
            self.listener.close()
            self.event(-1, -1, 'done', error=self.error)
            self.write_log()

    def write_log(self):
        if not self.log:
            return
        with self.lock:
            bodies = [{'conn': b['conn'], 'kind': b['kind'], 'bytes': b['bytes'].decode('latin-1')}
                      for b in self.bodies]
            doc = {'ok': self.error is None, 'error': self.error, 'events': self.events,
                   'bodies': bodies}
        with open(self.log, 'w') as f:
            json.dump(doc, f, indent=1)

    # --- library interface
    def start(self):
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()
        return self

    def wait(self, timeout=None):
        """Wait for the script to end (bounded by its deadline) and return
        a PeerResult."""
        limit = self.deadline - time.monotonic() + 2.0 if timeout is None else timeout
        self.thread.join(max(0.0, limit))
        if self.thread.is_alive():
            return_error = 'peer did not finish within its deadline'
            with self.lock:
                if self.error is None:
                    self.error = return_error
        return PeerResult(self)

    def check(self, timeout=None):
        res = self.wait(timeout)
        if not res.ok:
            raise AssertionError('peer: ' + res.error)
        return res

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.wait()
        return False


# ---------------------------------------------------------------- CLI

def main(argv=None):
    ap = argparse.ArgumentParser(description='scripted SMTP peer (see the docstring)')
    ap.add_argument('script', nargs='?')
    ap.add_argument('--port', type=int, default=0)
    ap.add_argument('--record')
    ap.add_argument('--log')
    ap.add_argument('--timeout', type=float)
    ap.add_argument('--certs')
    ap.add_argument('--ensure-certs', action='store_true',
                    help='generate the test certificates, print their directory, exit')
    args = ap.parse_args(argv)
    if args.ensure_certs:
        print(ensure_certs(args.script or args.certs))
        return 0
    if not args.script:
        ap.error('a script is required')
    try:
        peer = Peer(args.script, certs_dir=args.certs, timeout=args.timeout,
                    record=args.record, log=args.log, port=args.port)
    except (ScriptError, OSError) as e:
        print('peer: %s' % e, file=sys.stderr)
        return 2
    # Belt and braces: whatever happens, the process ends.
    signal_alarm = int(peer.timeout) + 5
    import signal
    signal.alarm(signal_alarm)
    print('PORT %d' % peer.port, flush=True)
    peer.start()
    res = peer.wait()
    if not res.ok:
        print('peer: %s' % res.error, file=sys.stderr)
        sys.stderr.flush()
        code = 2 if res.error.startswith('script error') else 1
        os._exit(code)  # the serving thread may still be blocked
    return 0


if __name__ == '__main__':
    sys.exit(main())
