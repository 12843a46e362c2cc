#!/usr/bin/python3
"""A/B throughput of bench_send binaries against the baseline, in one run.

  ab.py BUILD_DIR BUF REPS [SIZE_MB] -- BENCH_SEND [BENCH_SEND ...]

Copy build-bench/tests/bench/bench_send aside before a change, rebuild,
then pass both: each rep runs the baseline and every binary once, one after
the other against the same sink (tests/bench/sink), so that a loaded
machine slows them alike. Prints per sender the best and median wall and
CPU (user+sys, from wait4) time, the ratio to the baseline (throughput,
as run.py's 256 B target) and the CPU beyond the baseline's per buffer
written. Not part of run.sh: for quick iterations on one buffer size."""
import os
import statistics
import subprocess
import sys
import tempfile
import time


def run(argv):
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.stdout.close()
    p.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed")
    return wall, ru.ru_utime + ru.ru_stime


def main():
    if "--" not in sys.argv or len(sys.argv) < 6:
        raise SystemExit(__doc__)
    cut = sys.argv.index("--")
    build, buf, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
    size_mb = int(sys.argv[4]) if cut > 4 else 100
    bins = [os.path.abspath(b) for b in sys.argv[cut + 1:]]
    bench = os.path.join(build, "tests", "bench")
    with tempfile.TemporaryDirectory(prefix="mailout-ab-") as tmp:
        att = os.path.join(tmp, "attachment.bin")
        with open(att, "wb") as f:
            for _ in range(size_mb):
                f.write(os.urandom(1 << 20))
        stream = os.path.join(tmp, "data-stream")
        subprocess.run([bins[0], "stream", att, stream], check=True)
        writes = os.path.getsize(stream) / int(buf)
        sink = subprocess.Popen([os.path.join(bench, "sink")], stdout=subprocess.PIPE, text=True)
        try:
            port = sink.stdout.readline().split()[1]
            names = ["baseline"] + bins
            res = {k: [] for k in names}
            for _ in range(reps):
                res["baseline"].append(run([os.path.join(bench, "baseline"), port, stream, buf]))
                for b in bins:
                    res[b].append(run([b, "send", port, att, buf]))
        finally:
            sink.kill()
            sink.wait()
    bw = min(r[0] for r in res["baseline"])
    bc = min(r[1] for r in res["baseline"])
    print(f"{size_mb} MiB attachment, buffer {buf} B, best of {reps} interleaved runs, "
          f"load average {os.getloadavg()[0]:.2f}")
    for k in names:
        w = min(r[0] for r in res[k])
        c = min(r[1] for r in res[k])
        print(f"  {os.path.basename(k):<20} wall {w:.3f} (median {statistics.median(r[0] for r in res[k]):.3f})"
              f"  cpu {c:.3f} (median {statistics.median(r[1] for r in res[k]):.3f})"
              f"  throughput {bw / w:.2f}x  cpu beyond baseline {(c - bc) / writes * 1e9:.0f} ns/write")


if __name__ == "__main__":
    main()
