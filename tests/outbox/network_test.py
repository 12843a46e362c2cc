#!/usr/bin/python3
"""The outbox against a real network (issue 8): the server is down, then
up but answering 4xx, then 250 -- every queued message is delivered exactly
once. Then a lost final reply: the entry is kept and sent again
(at-least-once, as documented in include/mailout/outbox.h)."""
import os
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.environ["MAILOUT_SOURCE_ROOT"], "tests", "servers"))
import servers  # noqa: E402

TOOL = sys.argv[1]
T0 = 1795359340


def tool(*args):
    p = subprocess.run([TOOL, *map(str, args)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout


def counts(out):
    w = out.split()
    return dict(zip(w[0::2], map(int, w[1::2])))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def session(rcpt_reply, data=True, final="250 2.0.0 queued\r\n"):
    steps = [{"send": "220 test ESMTP\r\n"},
             {"expect": "EHLO", "reply": "250 test\r\n"},
             {"expect": "MAIL FROM:<dev@example.com>", "reply": "250 ok\r\n"},
             {"expect": "RCPT TO:<support@example.com>", "reply": rcpt_reply}]
    if data:
        steps += [{"expect": "DATA", "reply": "354 go\r\n"}, {"expect_data": True}]
        steps += [{"send": final}, {"expect": "QUIT", "reply": "221 bye\r\n"}] if final else [{"close": "fin"}]
    else:
        steps += [{"expect": "RSET", "reply": "250 ok\r\n"}, {"expect": "QUIT", "reply": "221 bye\r\n"}]
    return steps



def main():
    d = tempfile.mkdtemp(prefix="mailout-outbox-net-")
    q = os.path.join(d, "q")
    for n in (1, 2, 3):
        tool("enqueue", q, n)
    # 1. server down: every entry deferred, none lost
    c = counts(tool("flushnet", q, free_port(), T0 + 10))
    assert c["deferred"] == 3 and c["delivered"] == 0, c
    assert tool("check", q).split() == ["entries", "3"]
    # 2. server up, 4xx for everyone
    with servers.Peer([session("451 4.3.0 try later\r\n", data=False) for _ in range(3)]) as p:
        c = counts(tool("flushnet", q, p.port, T0 + 100))
    p.check()
    assert c["deferred"] == 3, c
    # 3. 250: each message delivered exactly once
    with servers.Peer([session("250 ok\r\n") for _ in range(3)]) as p:
        c = counts(tool("flushnet", q, p.port, T0 + 1000))
    res = p.check()
    assert c["delivered"] == 3, c
    assert len(res.bodies) == 3, res.bodies
    subjects = sorted(b["bytes"].split(b"Subject: ")[1].split(b"\r\n")[0] for b in res.bodies)
    assert subjects == [b"message 1", b"message 2", b"message 3"], subjects
    assert tool("check", q).split() == ["entries", "0"]
    # 4. lost final reply: kept as unknown, sent again, delivered (twice in all)
    tool("enqueue", q, 4)
    with servers.Peer([session("250 ok\r\n", final=None)]) as p:
        c = counts(tool("flushnet", q, p.port, T0 + 2000))
    p.check()
    assert c["unknown"] == 1, c
    with servers.Peer([session("250 ok\r\n")]) as p:
        c = counts(tool("flushnet", q, p.port, T0 + 3000))
    p.check()
    assert c["delivered"] == 1, c
    assert tool("check", q).split() == ["entries", "0"]
    print("down -> 4xx -> 250: 3 messages delivered exactly once; lost reply: resent once")


if __name__ == "__main__":
    main()
