#!/usr/bin/python3
"""One-connection TLS/plaintext test server for tests/transport.

Listens on 127.0.0.1 (or ::1) port 0, prints "PORT <n>", serves exactly one
connection, then prints what it saw and exits:

  HANDSHAKE ok|fail <reason>     (TLS modes)
  VERSION <TLS version>|-
  SNI <name>|-                   server name the client sent
  PEERCN <cn>|-                  subject CN of the client certificate
  PLAIN <hex>                    cleartext bytes received before TLS
  APPDATA <hex>                  application bytes received inside TLS
  CRECORDS <type:len,...>        client->server TLS records after TLS began
  SRECORDS <type:len,...>        server->client TLS records
  END

The TLS side runs over MemoryBIOs so that every record on the wire can be
seen. Everything is bounded: --timeout seconds for the whole connection.

Modes:
  tls       implicit TLS; after the handshake send --greeting, then echo
            every application byte back until close_notify/EOF.
  starttls  send "220 plain\r\n", expect "STARTTLS\r\n", answer
            "220 go ahead\r\n", then as tls.
  plain     send "220 plaintext server\r\n", record bytes until EOF.
  silent    send nothing, record bytes until EOF or the timeout.

--close: after the greeting, send close_notify and close (no echo).
"""
import argparse
import select
import socket
import ssl
import sys
import time


class Records:
    """Split a byte stream into TLS records (type, length)."""

    def __init__(self):
        self.buf = b""
        self.seen = []

    def feed(self, data):
        self.buf += data
        while len(self.buf) >= 5:
            n = int.from_bytes(self.buf[3:5], "big")
            if len(self.buf) < 5 + n:
                break
            self.seen.append((self.buf[0], n))
            self.buf = self.buf[5 + n:]

    def text(self):
        return ",".join("%d:%d" % r for r in self.seen) or "-"


class Conn:
    def __init__(self, sock, deadline):
        self.sock = sock
        self.deadline = deadline
        self.crec = Records()
        self.srec = Records()

    def recv(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("deadline")
        r, _, _ = select.select([self.sock], [], [], left)
        if not r:
            raise TimeoutError("deadline")
        try:
            return self.sock.recv(65536)
        except ConnectionResetError:
            return b""

    def send(self, data, tls=True):
        if data:
            if tls:
                self.srec.feed(data)
            self.sock.sendall(data)


def make_ctx(a):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    if a.max_version:
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        ctx.maximum_version = ssl.TLSVersion[a.max_version]
    if a.client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(a.client_ca)
    return ctx


def serve_tls(c, a, out, pending=b""):
    ctx = make_ctx(a)
    sni = []

    def on_sni(obj, name, context):
        sni.append(name)

    ctx.sni_callback = on_sni
    inc, outb = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, outb, server_side=True)
    if pending:
        c.crec.feed(pending)
        inc.write(pending)

    def flush():
        c.send(outb.read())

    def pull():
        data = c.recv()
        if not data:
            inc.write_eof()
            return False
        c.crec.feed(data)
        inc.write(data)
        return True

    result = "ok"
    try:
        while True:
            try:
                obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                flush()
                if not pull():
                    raise EOFError("peer closed during handshake")
        flush()
    except (ssl.SSLError, EOFError, TimeoutError, OSError) as e:
        result = "fail " + (getattr(e, "reason", None) or type(e).__name__)
        try:
            flush()
        except OSError:
            pass
    names = [n for n in sni if n]
    out["SNI"] = names[0] if names else "-"
    out["HANDSHAKE"] = result
    if result != "ok":
        return
    out["VERSION"] = obj.version() or "-"
    peer = obj.getpeercert()
    cn = "-"
    if peer:
        for rdn in peer.get("subject", ()):
            for k, v in rdn:
                if k == "commonName":
                    cn = v
    out["PEERCN"] = cn
    app = b""
    try:
        if a.greeting:
            obj.write(a.greeting.encode().decode("unicode_escape").encode("latin-1"))
            flush()
        if a.close:
            try:
                obj.unwrap()
            except ssl.SSLWantReadError:
                pass
            flush()
            out["APPDATA"] = "-"
            return
        while True:
            try:
                d = obj.read(65536)
            except ssl.SSLWantReadError:
                flush()
                if not pull():
                    break
                continue
            except ssl.SSLZeroReturnError:
                break
            if not d:
                break
            app += d
            obj.write(d)
            flush()
    except (ssl.SSLError, TimeoutError, OSError):
        pass
    out["APPDATA"] = app.hex() or "-"


def read_line(c, plain):
    while b"\r\n" not in plain:
        d = c.recv()
        if not d:
            return plain, False
        plain += d
    return plain, True


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mode", default="tls", choices=["tls", "starttls", "plain", "silent"])
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--client-ca")
    p.add_argument("--max-version")
    p.add_argument("--greeting", default="220 tls ready\\r\\n")
    p.add_argument("--v6", action="store_true")
    p.add_argument("--close", action="store_true")
    p.add_argument("--timeout", type=float, default=10.0)
    a = p.parse_args()

    fam = socket.AF_INET6 if a.v6 else socket.AF_INET
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.bind(("::1" if a.v6 else "127.0.0.1", 0))
    ls.listen(1)
    print("PORT %d" % ls.getsockname()[1], flush=True)
    ls.settimeout(a.timeout)
    out = {}
    plain = b""
    try:
        s, _ = ls.accept()
    except OSError:
        print("ACCEPT timeout\nEND", flush=True)
        return
    s.setblocking(True)
    c = Conn(s, time.monotonic() + a.timeout)
    try:
        if a.mode in ("plain", "silent"):
            if a.mode == "plain":
                c.send(b"220 plaintext server\r\n", tls=False)
            while True:
                d = c.recv()
                if not d:
                    break
                plain += d
        elif a.mode == "starttls":
            c.send(b"220 plain\r\n", tls=False)
            plain, ok = read_line(c, plain)
            if ok and plain.startswith(b"STARTTLS\r\n"):
                rest = plain[len(b"STARTTLS\r\n"):]
                plain = plain[: len(b"STARTTLS\r\n")]
                c.send(b"220 go ahead\r\n", tls=False)
                serve_tls(c, a, out, rest)
        else:
            serve_tls(c, a, out)
    except (TimeoutError, OSError) as e:
        out.setdefault("HANDSHAKE", "fail " + type(e).__name__)
    finally:
        s.close()
    out["PLAIN"] = plain.hex() or "-"
    out["CRECORDS"] = c.crec.text()
    out["SRECORDS"] = c.srec.text()
    for k in ("HANDSHAKE", "VERSION", "SNI", "PEERCN", "PLAIN", "APPDATA", "CRECORDS", "SRECORDS"):
        print("%s %s" % (k, out.get(k, "-")))
    print("END", flush=True)


if __name__ == "__main__":
    sys.exit(main())
