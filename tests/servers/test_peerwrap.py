#!/usr/bin/python3
"""servers.Peer: the scripted peer as a context manager, as the CLI tests
will use it (the client is another process: here, an smtplib child)."""

import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers  # noqa: E402

CLIENT = '''
import smtplib, sys
c = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="c.test", timeout=5)
c.sendmail("a@example.com", ["b@example.com"], b"Subject: x\\r\\n\\r\\nhi\\r\\n")
c.quit()
'''

SCRIPT = [{'send': '220 peer\r\n'},
          {'expect': 'EHLO c.test', 'reply': '250 peer\r\n'},
          {'expect': 'MAIL FROM:<a@example.com>', 'reply': '250 ok\r\n'},
          {'expect': 'RCPT TO:<b@example.com>', 'reply': '250 ok\r\n'},
          {'expect': 'DATA', 'reply': '354 go\r\n'},
          {'expect_data': True, 'data': 'Subject: x\r\n\r\nhi\r\n.\r\n', 'reply': '250 ok\r\n'},
          {'expect': 'QUIT', 'reply': '221 bye\r\n'},
          {'expect_eof': True}]


class PeerWrapperTests(unittest.TestCase):

    def test_session_from_another_process(self):
        with servers.Peer(SCRIPT, timeout=10) as p:
            self.assertEqual(p.host, '127.0.0.1')
            subprocess.run(['/usr/bin/python3', '-c', CLIENT, str(p.port)], check=True, timeout=10)
        res = p.check()
        self.assertEqual(res.bodies[0]['bytes'], b'Subject: x\r\n\r\nhi\r\n.\r\n')
        self.assertTrue(res.records[0].startswith(b'ehlo c.test\r\nmail FROM:<a@example.com>'))

    def test_deviation_raises_on_check(self):
        with servers.Peer([{'send': '220 peer\r\n'}, {'expect': 'HELO'}], timeout=10) as p:
            r = subprocess.run(['/usr/bin/python3', '-c', CLIENT, str(p.port)],
                               capture_output=True, timeout=10)
            self.assertNotEqual(r.returncode, 0)
        with self.assertRaisesRegex(AssertionError, 'expected a line starting with HELO, got ehlo'):
            p.check()


if __name__ == '__main__':
    unittest.main(verbosity=2)
