#!/usr/bin/python3
"""mailout against Postfix's smtp-sink with faults injected at every stage
(connect, EHLO, MAIL, RCPT, DATA, end of data) and every action (5xx, 4xx,
drop without reply, 421): the status and stage mailout reports, and that
no truncated message is ever delivered (each dump the sink wrote holds the
complete message). Also two messages per session (RSET between them) and
QUIT faults that must not spoil a delivered message. smtp-sink speaks no
TLS: policy NONE."""

import os
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import itest  # noqa: E402
from itest import servers  # noqa: E402

STAGE_NAME = {'connect': 'GREETING', 'helo': 'EHLO', 'mail': 'MAIL', 'rcpt': 'RCPT',
              'data': 'DATA', 'eod': 'END'}
ACTION_STATUS = {'reject': 'E_REJ_PERM', 'tempfail': 'E_REJ_TEMP', 'drop': 'E_CLOSED',
                 '421': 'E_SERVER_SHUTDOWN'}
ACTION_CODE = {'reject': 500, 'tempfail': 450, 'drop': 0, '421': 421}


def expected(stage, action):
    status = ACTION_STATUS[action]
    if stage == 'eod' and action == 'drop':
        status = 'E_DELIVERY_UNKNOWN'   # all data sent, final reply lost
    return status, STAGE_NAME[stage], ACTION_CODE[action]


class SinkFaults(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.files = itest.Files()
        att = cls.files.make('att.bin', os.urandom(150000))
        cls.args = ['--host', '127.0.0.1', '--tls', 'none', '--ehlo', 'client.example',
                    '--from', 'a@example.com', '--to', 'b@example.com', '--subject', 'sink',
                    '--text-data', 'line\n.\nend\n', '--attach', att, '--seed', '3',
                    '--date', '1700000000', '--message-id', '<sink@itest.example>',
                    '--timeout-ms', '10000']
        p = itest.dry_run(cls.args)
        assert p.returncode == 0, p.stderr
        cls.message = itest.lf(p.stdout)
        p = itest.dry_run(cls.args, smtp=True)
        cls.data_stream_len = len(p.stdout)   # stuffed, with the terminator

    @classmethod
    def tearDownClass(cls):
        cls.files.cleanup()

    def assert_dumps_complete(self, dumps, count=None):
        """Each dump is smtp-sink's X-*/Received lines, then our whole
        message, then one empty line: never a truncated message."""
        if count is not None:
            self.assertEqual(len(dumps), count)
        for d in dumps:
            i = d.find(b'Date: ')
            self.assertGreaterEqual(i, 0, d[:300])
            self.assertEqual(d[i:], self.message + b'\n')

    def run_fault(self, stage, action):
        with servers.Sink(stage, action, timeout=30) as s:
            r = itest.run(self.args + ['--port', s.port])
            dumps = s.messages()
        return r, dumps

    def test_every_stage_and_action(self):
        cases = [(s, a) for s in STAGE_NAME for a in ACTION_STATUS]
        out = {}

        def worker(mine):
            for c in mine:
                try:
                    out[c] = self.run_fault(*c)
                except Exception as e:  # reported below, per case
                    out[c] = e

        # three sinks at a time: the cases are independent
        threads = [threading.Thread(target=worker, args=(cases[k::3],)) for k in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        for c in cases:
            with self.subTest(stage=c[0], action=c[1]):
                self.assertIn(c, out)
                self.assertNotIsInstance(out[c], Exception, out.get(c))
                r, dumps = out[c]
                st, stage, code = expected(*c)
                self.assertEqual((r.r.status, r.r.stage, r.r.code), (st, stage, code), r)
                self.assertEqual(r.rc, 1)
                # smtp-sink writes its dump while the data arrives, so only
                # the end-of-data faults leave one: the complete message
                self.assert_dumps_complete(dumps, 1 if c[0] == 'eod' else 0)
                if c[0] == 'eod':
                    self.assertEqual(r.r.bytes, self.data_stream_len)

    def test_success_baseline(self):
        with servers.Sink(timeout=30) as s:
            r = itest.run(self.args + ['--port', s.port])
            self.assertEqual((r.r.status, r.r.stage, r.r.code), ('OK', 'END', 250), r)
            self.assertEqual(r.rc, 0)
            self.assert_dumps_complete(s.messages(), 1)

    def test_two_messages_after_refusals(self):
        # refused at RCPT / at the end of data: RSET, and the session goes on
        for stage, code in (('rcpt', 500), ('eod', 500), ('mail', 450)):
            act = 'tempfail' if code == 450 else 'reject'
            with self.subTest(stage=stage):
                with servers.Sink(stage, act, timeout=30) as s:
                    r = itest.run(self.args + ['--port', s.port, '--repeat', '2'])
                    st, stg, c = expected(stage, act)
                    self.assertEqual([(x.status, x.stage, x.code) for x in r.results], [(st, stg, c)] * 2, r)
                    self.assertEqual(r.session, 'OK')
                    self.assert_dumps_complete(s.messages(), 2 if stage == 'eod' else 0)

    def test_rset_dropped(self):
        # the RSET after a refused message is dropped: the session ends,
        # the second message is not attempted
        with servers.Sink(faults=[('reject', 'eod'), ('drop', 'rset')], timeout=30) as s:
            r = itest.run(self.args + ['--port', s.port, '--repeat', '2'])
            self.assertEqual([x.status for x in r.results], ['E_REJ_PERM', 'E_STATE'], r)
            self.assertEqual(r.session, 'E_CLOSED')
            self.assert_dumps_complete(s.messages(), 1)

    def test_quit_faults_keep_success(self):
        for act in ('drop', '421', 'reject'):
            with self.subTest(action=act):
                with servers.Sink('quit', act, timeout=30) as s:
                    r = itest.run(self.args + ['--port', s.port])
                    self.assertEqual((r.r.status, r.r.stage, r.r.code), ('OK', 'END', 250), r)
                    self.assert_dumps_complete(s.messages(), 1)


if __name__ == '__main__':
    unittest.main(verbosity=2)
