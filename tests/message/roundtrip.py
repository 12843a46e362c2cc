#!/usr/bin/python3
"""Round trip: messages composed by compose_tool, parsed back with Python's
email package (BytesParser, policy.default).

For every generated case (deterministic seeds) this checks that each part's
decoded bytes, content type, charset, filename and disposition, and the
message's From/To/Cc/Reply-To/Subject/custom fields come back as given; that
Bcc never appears; that the transfer encoding is the one the automatic rules
call for; that every line ends in CRLF and has at most 998 bytes; and that
the SMTP stream un-stuffs to the message and ends with the terminator.
It also forwards a message made by compose_tool as message/rfc822 inside
another one (from each kind of source) and checks that the parser gets it
back byte for byte (run_forward).

usage: roundtrip.py COMPOSE_TOOL [CASES]
"""
import os
import random
import re
import subprocess
import sys
import tempfile
from collections import Counter
from email import policy
from email.header import decode_header, make_header
from email.parser import BytesParser
from email.utils import getaddresses

STATS = Counter()
TOOL = sys.argv[1]
CASES = int(sys.argv[2]) if len(sys.argv) > 2 else 150

WORDS = ["alpha", "beta", "Grüße", "naïve", "日本語", "😀", "x", "a=b", "?", "_", "\"q\"", "(c)",
         "=?utf-8?q?x?=", "back\\slash", "tab\there", "Ünïcödé", "ok,", "semi;colon", "Ωμέγα"]


def hx(s):
    return "-" if s is None else s.encode().hex()


def text_of(rng, nwords, allow_tab=True):
    words = [rng.choice(WORDS) for _ in range(nwords)]
    s = " ".join(words)
    if not allow_tab:
        s = s.replace("\t", " ")
    return s


def display_name(rng):
    c = rng.randrange(5)
    if c == 0:
        return None
    if c == 1:
        return "Plain Name"
    if c == 2:
        return "Quote \"me\" \\ now"
    return text_of(rng, rng.randrange(1, 6), allow_tab=False)[:100].strip() or "n"


def address(rng, i):
    return rng.choice(["u%d@example.com" % i, "first.last+%d@sub.example.org" % i, "o'r%d@example.net" % i])


def subject(rng):
    c = rng.randrange(6)
    if c == 0:
        return None
    if c == 1:
        return "x" * rng.randrange(70, 1300)  # an unbreakable token
    if c == 2:
        return " ".join(["word%d" % i for i in range(rng.randrange(1, 60))])
    return text_of(rng, rng.randrange(1, 80))


def filename(rng):
    c = rng.randrange(6)
    if c == 0:
        return None
    if c == 1:
        return "report.pdf"
    if c == 2:
        return "a \"quoted\" name; with=specials.txt"
    if c == 3:
        return "résumé-" + "é" * rng.randrange(0, 90) + ".pdf"
    if c == 4:
        return "long file name " * rng.randrange(1, 12) + ".bin"
    return "dir/sub/" + text_of(rng, 3, allow_tab=False).replace("/", "_") + ".txt"


def content(rng, kind):
    """Body bytes of a given flavour."""
    n = rng.choice([0, 1, 2, 3, 10, 57, 200, 1000, 5000])
    if kind == "binary":
        return bytes(rng.randrange(256) for _ in range(n))
    lines = []
    for _ in range(max(1, n // 40)):
        c = rng.randrange(40)
        if c == 0:
            lines.append(".")
        elif c == 1:
            lines.append("." + "dot start")
        elif c == 2:
            lines.append("x" * rng.randrange(990, 1400))
        elif c == 3:
            lines.append("--=_not a boundary")
        elif c == 4:
            lines.append("trailing space   ")
        elif c == 5:
            lines.append("From the start")
        elif c == 6:
            lines.append("unicode " + text_of(rng, 4))
        elif c == 7 and rng.randrange(4) == 0:
            lines.append("nul\0inside")
        elif c == 8 and rng.randrange(4) == 0:
            lines.append("ctl\x01\x1b[0m")
        elif c in (9, 10, 11):
            lines.append("unicode " + text_of(rng, 2))
        else:
            lines.append(" ".join(rng.choice(["lorem", "ipsum", "dolor", "sit", "amet"]) for _ in range(8)))
    eol = rng.choice(["\r\n", "\n", "\r", "mixed"])
    out = ""
    for ln in lines:
        out += ln + (rng.choice(["\r\n", "\n", "\r"]) if eol == "mixed" else eol)
    if rng.randrange(3) == 0:
        out = out.rstrip("\r\n")
    if kind == "ascii":
        out = out.encode("ascii", "replace").decode()
    return out.encode()[: max(n, 0) * 3 if n else 0]


def normalise(b):
    return re.sub(rb"\r\n|\r|\n", b"\r\n", b)


def auto_cte(data, is_text, src, flags):
    """The automatic choice of message.h, computed independently."""
    if not is_text:
        return "base64"
    # producers have a rewind here, so they are scanned like the rest
    # (compose_tool's producers never say AGAIN during that first pass)
    if re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", data):
        return "base64"
    lines = re.split(rb"\r\n|\r|\n", data)
    eight = any(c >= 0x80 for c in data)
    if max(len(x) for x in lines) > 998 or any(x.startswith(b"--=_") for x in lines) or (eight and not flags & 2):
        return "quoted-printable"
    return "8bit" if eight else "7bit"


class Leaf:
    def __init__(self, rng, tmp, idx, flags):
        self.is_text = rng.randrange(3) != 0
        self.type = (rng.choice([None, "text/plain", "text/html", "TEXT/CSV"]) if self.is_text
                     else rng.choice(["application/octet-stream", "image/png", "application/pdf"]))
        self.data = content(rng, rng.choice(["text", "ascii", "binary"]))
        self.src = rng.choice(["buf", "buf", "file", "prod", "produnk"])
        self.path = os.path.join(tmp, "data%d-%s" % (idx, rng.choice(["plain.txt", "r\u00e9sum\u00e9.dat"])))
        with open(self.path, "wb") as f:
            f.write(self.data)
        self.filename = filename(rng)
        self.disp = rng.choice(["none", "none", "inline", "attachment"])
        self.enc = rng.choice(["auto"] * 6 + ["qp", "base64"])
        self.flags = flags

    def spec(self):
        return "leaf %s %s %s %s %s %s" % (self.src, self.path, self.type or "-", hx(self.filename),
                                           self.enc, self.disp)

    def expect_cte(self):
        if self.enc == "qp":
            return "quoted-printable"
        if self.enc == "base64":
            return "base64"
        return auto_cte(self.data, self.is_text, self.src, self.flags)

    def check(self, part, is_root, fail):
        cte = part.get("Content-Transfer-Encoding", "7bit")
        want = self.expect_cte()
        if cte != want:
            fail("transfer encoding %s, expected %s" % (cte, want))
        ctype = (self.type or "text/plain").lower()
        if part.get_content_type() != ctype:
            fail("content type %s, expected %s" % (part.get_content_type(), ctype))
        if self.is_text and part.get_param("charset") != "utf-8":
            fail("charset %r" % part.get_param("charset"))
        name = self.filename
        if name is not None:
            name = re.split(r"[/\\]", name)[-1]
        elif self.src == "file":
            name = os.path.basename(self.path)
        if part.get_filename() != name:
            fail("filename %r, expected %r" % (part.get_filename(), name))
        disp = {"none": "attachment" if name else None, "inline": "inline", "attachment": "attachment"}[self.disp]
        if part.get_content_disposition() != disp:
            fail("disposition %r, expected %r" % (part.get_content_disposition(), disp))
        data = self.data
        if self.is_text and cte != "base64":
            data = normalise(data)
            if is_root and cte in ("7bit", "8bit") and data and not data.endswith(b"\r\n"):
                data += b"\r\n"
        STATS["%s %s %s" % ("text" if self.is_text else "binary", self.src, cte)] += 1
        got = part.get_payload(decode=True)
        if cte == "quoted-printable" and self.is_text:
            got = normalise(got)  # decoders may give back local line ends
        if got != data:
            fail("payload differs (%s): got %r... expected %r..." % (cte, got[:80], data[:80]))


class Multi:
    def __init__(self, kind):
        self.kind = kind
        self.children = []

    def check(self, part, is_root, fail):
        if part.get_content_type() != "multipart/" + self.kind:
            fail("content type %s, expected multipart/%s" % (part.get_content_type(), self.kind))
        subs = part.get_payload()
        if len(subs) != len(self.children):
            fail("%d parts, expected %d" % (len(subs), len(self.children)))
        for c, p in zip(self.children, subs):
            c.check(p, False, fail)


def tree(rng, tmp, flags, depth, counter):
    if depth == 0 or rng.randrange(3) == 0:
        counter[0] += 1
        return Leaf(rng, tmp, counter[0], flags)
    m = Multi(rng.choice(["mixed", "alternative", "related"]))
    for _ in range(rng.randrange(1, 4)):
        m.children.append(tree(rng, tmp, flags, depth - 1, counter))
    return m


def tree_spec(node, out):
    if isinstance(node, Leaf):
        out.append(node.spec())
        return
    out.append("mp " + node.kind)
    for c in node.children:
        tree_spec(c, out)
    out.append("end")


def check_lines(data, fail):
    for i, line in enumerate(data.split(b"\r\n")[:-1]):
        if b"\r" in line or b"\n" in line:
            fail("bare CR or LF in line %d" % i)
        if len(line) > 998:
            fail("line %d has %d bytes" % (i, len(line)))
    if not data.endswith(b"\r\n"):
        fail("does not end with CRLF")


def check_smtp(plain, smtp, fail):
    if not smtp.endswith(b"\r\n.\r\n") and smtp != b".\r\n":
        fail("SMTP stream does not end with the terminator")
    body = smtp[:-3]
    lines = body.split(b"\r\n")
    un = []
    for ln in lines:
        if ln.startswith(b"."):
            if not ln.startswith(b".."):
                fail("unstuffed dot line in the SMTP stream")
            ln = ln[1:]
        un.append(ln)
    if b"\r\n".join(un) != plain:
        fail("un-stuffed SMTP stream differs from the message")


def addresses(raw_msg, name):
    """(display name, address) pairs of a field, display names decoded by
    email.header (RFC 2047 §6.2: white space between adjacent encoded-words
    is ignored). policy.default's address parser does not do that for
    display names in Python 3.11 (it keeps a space between the words), so it
    is used for the addresses only."""
    raws = raw_msg.get_all(name) or []
    pairs = getaddresses([r.replace("\r\n", "").replace("\n", "") for r in raws])
    return [(str(make_header(decode_header(n))) if n else "", a) for n, a in pairs]


def run_case(i, tmp):
    rng = random.Random(1000 + i)
    flags = rng.choice([0, 2])
    spec = ["seed %d" % rng.randrange(1, 2 ** 32), "flags %d" % flags]
    frm = (address(rng, 0), display_name(rng))
    spec.append("from %s %s" % (frm[0], hx(frm[1])))
    rcpts = {"to": [], "cc": [], "bcc": []}
    for kind, lo, hi in (("to", 1, 4), ("cc", 0, 3), ("bcc", 0, 2)):
        for j in range(rng.randrange(lo, hi + 1)):
            addr = "bcc-%d@hidden.example" % j if kind == "bcc" else address(rng, len(spec) * 10 + j)
            a = (addr, display_name(rng))
            rcpts[kind].append(a)
            spec.append("%s %s %s" % (kind, a[0], hx(a[1])))
    reply = None
    if rng.randrange(3) == 0:
        reply = (address(rng, 99), display_name(rng))
        spec.append("reply-to %s %s" % (reply[0], hx(reply[1])))
    subj = subject(rng)
    if subj is not None:
        spec.append("subject " + hx(subj))
    custom = []
    for j in range(rng.randrange(0, 4)):
        v = rng.choice(["plain value", text_of(rng, rng.randrange(1, 30)), "<https://example.com/" + "p" * 150 + ">"])
        custom.append(("X-Custom-%d" % j, v))
        spec.append("header %s %s" % (hx("X-Custom-%d" % j), hx(v)))
    body = tree(rng, tmp, flags, 3, [0]) if rng.randrange(8) else None
    if body is not None:
        tree_spec(body, spec)
    specfile = os.path.join(tmp, "spec")
    with open(specfile, "w") as f:
        f.write("\n".join(spec) + "\n")

    def fail(why):
        raise AssertionError("case %d: %s\nspec:\n%s" % (i, why, "\n".join(spec)))

    out_msg, out_smtp = os.path.join(tmp, "msg"), os.path.join(tmp, "smtp")
    r = subprocess.run([TOOL, specfile, out_msg, out_smtp], capture_output=True)
    if r.returncode != 0:
        fail("compose_tool failed: " + r.stderr.decode(errors="replace"))
    plain = open(out_msg, "rb").read()
    smtp = open(out_smtp, "rb").read()
    check_lines(plain, fail)
    check_smtp(plain, smtp, fail)
    for a, _ in rcpts["bcc"]:
        if a.encode() in plain:
            fail("Bcc address in the content")
    msg = BytesParser(policy=policy.default).parsebytes(plain)
    if msg.defects:
        fail("defects: %r" % msg.defects)
    if "Bcc" in msg:
        fail("Bcc field present")
    raw = BytesParser(policy=policy.compat32).parsebytes(plain)
    fields = [("From", [frm]), ("To", rcpts["to"]), ("Cc", rcpts["cc"])] + ([("Reply-To", [reply])] if reply else [])
    for name, want in fields:
        want = [(n or "", a) for a, n in want]
        got = addresses(raw, name)
        if got != want:
            fail("%s %r, expected %r" % (name, got, want))
        modern = [a.addr_spec for a in msg[name].addresses] if msg[name] is not None else []
        if modern != [a for _, a in want]:
            fail("%s addresses %r (policy.default)" % (name, modern))
    if subj is not None and str(msg["Subject"]) != subj:
        fail("Subject %r, expected %r" % (str(msg["Subject"]), subj))
    for name, v in custom:
        if str(msg[name]) != v:
            fail("%s %r, expected %r" % (name, str(msg[name]), v))
    if not re.fullmatch(r"<[0-9a-v]{24}@[^>]+>", str(msg["Message-ID"])):
        fail("Message-ID %r" % str(msg["Message-ID"]))
    if msg["MIME-Version"] != "1.0":
        fail("MIME-Version")
    if body is not None:
        body.check(msg, True, fail)
    elif msg.get_payload(decode=True) != b"":
        fail("empty body expected")


def compose(tmp, name, spec, fail):
    specfile, out_msg, out_smtp = (os.path.join(tmp, name + x) for x in (".spec", ".eml", ".smtp"))
    with open(specfile, "w") as f:
        f.write("\n".join(spec) + "\n")
    r = subprocess.run([TOOL, specfile, out_msg, out_smtp], capture_output=True)
    if r.returncode != 0:
        fail("compose_tool failed: " + r.stderr.decode(errors="replace"))
    plain, smtp = open(out_msg, "rb").read(), open(out_smtp, "rb").read()
    check_lines(plain, fail)
    check_smtp(plain, smtp, fail)
    return plain, out_msg


def run_forward(tmp, src, flags, eight):
    """A message made by mailout (multipart/mixed with an attachment),
    forwarded as message/rfc822 inside another multipart/mixed. compose_tool
    always starts from the same random seed, so the forwarding message first
    draws the forwarded one's boundary: mailout must draw another, and the
    parser must get the forwarded message back byte for byte."""
    def fail(why):
        raise AssertionError("forward %s flags %d 8bit %d: %s" % (src, flags, eight, why))

    text = os.path.join(tmp, "fw-text.txt")
    att = os.path.join(tmp, "fw-att.bin")
    with open(text, "wb") as f:
        f.write("Grüße\n".encode() if eight else b"See the log.\n--=_not ours\n")
    with open(att, "wb") as f:
        f.write(bytes(range(256)) * 3)
    head = ["seed 5", "flags %d" % flags, "from a@example.com -", "to b@example.com -"]
    inner, inner_path = compose(tmp, "fw-inner", head + [
        "subject " + hx("report"), "mp mixed", "leaf buf %s - - auto none" % text,
        "leaf buf %s application/octet-stream %s auto attachment" % (att, hx("log.bin")), "end"], fail)
    outer, _ = compose(tmp, "fw-outer", head + [
        "subject " + hx("Fwd: report"), "mp mixed", "leaf buf %s - - auto none" % text,
        "leaf %s %s message/rfc822 - auto none" % (src, inner_path), "end"], fail)
    msg = BytesParser(policy=policy.default).parsebytes(outer)
    if msg.defects:
        fail("defects: %r" % msg.defects)
    types = [p.get_content_type() for p in msg.walk()]
    if types != ["multipart/mixed", "text/plain", "message/rfc822", "multipart/mixed", "text/plain",
                 "application/octet-stream"]:
        fail("structure %r" % types)
    raw = BytesParser(policy=policy.compat32).parsebytes(outer)
    part = raw.get_payload()[1]
    cte = part.get("Content-Transfer-Encoding")
    if cte != ("8bit" if eight and flags & 2 else "7bit"):
        fail("message/rfc822 sent %s" % cte)
    got = part.get_payload()[0].as_bytes(policy=policy.compat32.clone(linesep="\r\n"))
    if got != inner:
        fail("forwarded message differs: got %r... expected %r..." % (got[:120], inner[:120]))
    sub = msg.get_payload()[1].get_content()
    if sub.get_payload()[1].get_payload(decode=True) != bytes(range(256)) * 3:
        fail("attachment of the forwarded message differs")
    # same seed: the same Message-ID, and the boundary it drew first was redrawn
    if raw["Message-ID"] != part.get_payload()[0]["Message-ID"]:
        fail("the two messages did not draw the same random strings")
    if raw.get_boundary() == part.get_payload()[0].get_boundary():
        fail("the forwarding message uses the forwarded message's boundary")
    STATS["forward %s %s" % (src, cte)] += 1


FORWARDS = [(src, flags, eight) for src in ("buf", "file", "prod", "produnk") for flags, eight in ((0, 0), (2, 0), (2, 1))]


def main():
    failures = 0
    with tempfile.TemporaryDirectory(prefix="mailout-rt-") as tmp:
        for src, flags, eight in FORWARDS:
            try:
                run_forward(tmp, src, flags, eight)
            except AssertionError as e:
                failures += 1
                print(e)
        for i in range(CASES):
            try:
                run_case(i, tmp)
            except AssertionError as e:
                failures += 1
                print(e)
                if failures >= 5:
                    break
    for k in sorted(STATS):
        print("  %-40s %d" % (k, STATS[k]))
    print("%d cases and %d forwards, %d failed" % (CASES, len(FORWARDS), failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
