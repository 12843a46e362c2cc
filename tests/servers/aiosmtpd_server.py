#!/usr/bin/python3
"""A real ESMTP server for tests: Debian's aiosmtpd on 127.0.0.1.

    aiosmtpd_server.py --dir OUTDIR [--port 0] [--certs DIR] [--no-tls]
        [--user U --password P] [--require-starttls] [--auth-required]
        [--auth-require-tls yes|no] [--size-limit N] [--smtputf8]
        [--timeout 60]

Prints "PORT <n>" on stdout when it listens. STARTTLS uses server.pem from
the test certificates (peer.ensure_certs). With --user/--password it offers
AUTH PLAIN and LOGIN and accepts only that pair; by default AUTH is refused
(not even advertised) before STARTTLS (--auth-require-tls yes).

Each accepted message n (0, 1, ...) is saved as OUTDIR/n.eml (the content
after dot-unstuffing, exactly as received otherwise) and then OUTDIR/n.json
(the envelope: mail_from, rcpt_tos, mail_options, rcpt_options, helo, tls,
auth_login). A message is complete once its .json exists.

Exits after --timeout seconds (default 60), on SIGTERM or SIGINT.
"""

import argparse
import asyncio
import json
import os
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'peer'))
import peer  # noqa: E402  (for ensure_certs)


class SaveHandler:
    def __init__(self, outdir):
        self.outdir = outdir
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        n = self.count
        self.count += 1
        base = os.path.join(self.outdir, str(n))
        with open(base + '.eml.tmp', 'wb') as f:
            f.write(envelope.original_content)
        os.rename(base + '.eml.tmp', base + '.eml')
        login = session.auth_data if session.authenticated else None
        meta = {
            'mail_from': envelope.mail_from,
            'rcpt_tos': envelope.rcpt_tos,
            'mail_options': envelope.mail_options,
            'rcpt_options': envelope.rcpt_options,
            'helo': session.host_name,
            'tls': session.ssl is not None,
            'auth_login': login.decode('latin-1') if isinstance(login, bytes) else login,
        }
        with open(base + '.json.tmp', 'w') as f:
            json.dump(meta, f, indent=1)
        os.rename(base + '.json.tmp', base + '.json')
        return '250 2.0.0 OK saved as %d' % n


def make_authenticator(user, password):
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and user is not None
              and auth_data.login == user.encode() and auth_data.password == password.encode())
        return AuthResult(success=ok, handled=False, auth_data=auth_data.login if ok else None)
    return authenticator


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--dir', required=True)
    ap.add_argument('--port', type=int, default=0)
    ap.add_argument('--certs')
    ap.add_argument('--no-tls', action='store_true')
    ap.add_argument('--user')
    ap.add_argument('--password')
    ap.add_argument('--require-starttls', action='store_true')
    ap.add_argument('--auth-required', action='store_true')
    ap.add_argument('--auth-require-tls', choices=('yes', 'no'), default='yes')
    ap.add_argument('--size-limit', type=int, default=10 * 1024 * 1024)
    ap.add_argument('--smtputf8', action='store_true')
    ap.add_argument('--timeout', type=float, default=60.0)
    args = ap.parse_args()
    if (args.user is None) != (args.password is None):
        ap.error('--user and --password go together')
    os.makedirs(args.dir, exist_ok=True)

    tls = None
    if not args.no_tls:
        certs = peer.ensure_certs(args.certs)
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(os.path.join(certs, 'server.pem'), os.path.join(certs, 'server.key'))

    handler = SaveHandler(args.dir)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    kw = dict(hostname='aiosmtpd.test', tls_context=tls, require_starttls=args.require_starttls,
              auth_required=args.auth_required, auth_require_tls=args.auth_require_tls == 'yes',
              data_size_limit=args.size_limit, enable_SMTPUTF8=args.smtputf8, timeout=30,
              loop=loop)
    if args.user is not None:
        kw['authenticator'] = make_authenticator(args.user, args.password)
    else:
        kw['auth_exclude_mechanism'] = ['PLAIN', 'LOGIN']
    server = loop.run_until_complete(
        loop.create_server(lambda: SMTP(handler, **kw), host='127.0.0.1', port=args.port))
    print('PORT %d' % server.sockets[0].getsockname()[1], flush=True)
    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    loop.add_signal_handler(signal.SIGINT, loop.stop)
    loop.call_later(args.timeout, loop.stop)
    signal.alarm(int(args.timeout) + 5)  # in case the loop hangs
    try:
        loop.run_forever()
    finally:
        server.close()
    os._exit(0)  # do not wait for lingering client tasks


if __name__ == '__main__':
    main()
