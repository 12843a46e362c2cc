#!/usr/bin/python3
"""Throughput and memory benchmarks (run by tests/bench/run.sh).

Every sender sends the same message (a short text and a SIZE_MB random
attachment, base64) to the discarding sink on 127.0.0.1, one after the
other in the same run; wall time and CPU time (user+sys of the sender
process) are measured with os.wait4."""
import os
import shutil
import subprocess
import sys
import tempfile
import time

BUILD = sys.argv[1]
SIZE_MB = int(sys.argv[2]) if len(sys.argv) > 2 else 100
BENCH = os.path.join(BUILD, "tests", "bench")


def timed(argv):
    """Runs argv; returns (wall s, cpu s, max RSS KiB, stdout)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    out = p.stdout.read().decode()
    err = p.stderr.read().decode()
    p.stdout.close()
    p.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{argv[0]} failed: {err.strip()}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, out


class Sink:
    def __enter__(self):
        self.p = subprocess.Popen([os.path.join(BENCH, "sink")], stdout=subprocess.PIPE, text=True)
        line = self.p.stdout.readline().split()
        assert line[0] == "PORT"
        self.port = line[1]
        return self

    def __exit__(self, *a):
        self.p.kill()
        self.p.wait()


def main():
    tmp = tempfile.mkdtemp(prefix="mailout-bench-")
    try:
        att = os.path.join(tmp, "attachment.bin")
        with open(att, "wb") as f:
            for _ in range(SIZE_MB):
                f.write(os.urandom(1 << 20))
        stream = os.path.join(tmp, "data-stream")
        timed([os.path.join(BENCH, "bench_send"), "stream", att, stream])
        wire = os.path.getsize(stream)
        print(f"message: {SIZE_MB} MiB random attachment -> {wire / 1e6:.1f} MB on the wire (base64)")
        print(f"{'sender':<28}{'buffer':>8}{'wall s':>9}{'cpu s':>9}{'MB/s':>9}{'wall vs base':>14}")
        rows = {}
        with Sink() as sink:
            for buf in (256, 4096, 16384):
                base = timed([os.path.join(BENCH, "baseline"), sink.port, stream, str(buf)])
                mine = timed([os.path.join(BENCH, "bench_send"), "send", sink.port, att, str(buf)])
                rows[buf] = (base, mine)
                for name, r in (("pre-encoded send()", base), ("mailout", mine)):
                    print(f"{name:<28}{buf:>8}{r[0]:>9.3f}{r[1]:>9.3f}{wire / r[0] / 1e6:>9.0f}"
                          f"{r[0] / base[0]:>13.2f}x")
            if shutil.which("curl"):
                url = f"smtp://127.0.0.1:{sink.port}"
                curl = timed(["curl", "-sS", url, "--mail-from", "a@example.com", "--mail-rcpt",
                              "b@example.com", "-F", f"f=@{att};encoder=base64"])
                print(f"{'curl -F (base64)':<28}{'-':>8}{curl[0]:>9.3f}{curl[1]:>9.3f}"
                      f"{wire / curl[0] / 1e6:>9.0f}{curl[0] / rows[16384][0][0]:>13.2f}x")
                print(f"mailout at 16 KB is {curl[0] / rows[16384][1][0]:.1f}x faster than curl (wall)")
            # Memory: the same peak for a 1 KiB and a 1 GiB attachment.
            small = os.path.join(tmp, "small.bin")
            with open(small, "wb") as f:
                f.write(os.urandom(1024))
            huge = os.path.join(tmp, "huge.bin")
            with open(huge, "wb") as f:
                f.truncate(1 << 30)
            rss_small = timed([os.path.join(BENCH, "bench_send"), "send", sink.port, small, "4096"])[2]
            rss_huge = timed([os.path.join(BENCH, "bench_send"), "send", sink.port, huge, "4096"])[2]
            print(f"peak RSS of mailout: 1 KiB attachment {rss_small} KiB, 1 GiB attachment {rss_huge} KiB")
        for buf, (base, mine) in rows.items():
            print(f"ratio pre-encoded/mailout at {buf} B: {base[0] / mine[0]:.2f} (wall), "
                  f"{base[1] / mine[1]:.2f} (cpu)")
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
