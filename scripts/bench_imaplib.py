#!/usr/bin/env python3
"""The Python peer of benches/compare.rs: one workload with imaplib or poplib (stdlib only).

    bench_imaplib.py HOST PORT SECURITY CAFILE USER PASSWORD WORKLOAD [UIDS]

SECURITY is "plain" or "tls" (CAFILE is the PEM to trust for tls, "-" otherwise).
WORKLOAD is one of
    bulk    UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[])
    meta    UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)
    single  one UID FETCH n (UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[]) per UID
    store   one UID STORE n +FLAGS (\\Flagged) per UID
    pop3    RETR n for each message number in UIDS (poplib; PORT is the POP3 port)
UIDS is a comma-separated list (single, store, pop3).

Connecting and logging in are not measured. Prints one line of JSON:
{"wall": seconds, "cpu": user+system seconds of this process, "count": items, "bytes": n}
"""

import imaplib
import json
import poplib
import resource
import ssl
import sys
import time


def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def context(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    return ctx


def imap_connect(host, port, security, cafile, user, password):
    if security == "tls":
        conn = imaplib.IMAP4_SSL(host, port, ssl_context=context(cafile))
    else:
        conn = imaplib.IMAP4(host, port)
    conn.login(user, password)
    typ, _ = conn.select("INBOX")
    if typ != "OK":
        raise SystemExit("SELECT failed")
    return conn


def check(typ, data, what):
    if typ != "OK":
        raise SystemExit(f"{what} failed: {data!r}")


def run_imap(conn, workload, uids):
    """Runs the workload; returns (count, bytes, the fetched data, to be freed after the
    measurement like the Rust clients' values)."""
    count = 0
    size = 0
    data = None
    full = "(UID FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[])"
    if workload == "bulk":
        typ, data = conn.uid("FETCH", "1:*", full)
        check(typ, data, "UID FETCH")
        for item in data:
            if isinstance(item, tuple):
                count += 1
                size += len(item[1])
    elif workload == "meta":
        typ, data = conn.uid("FETCH", "1:*", "(UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE)")
        check(typ, data, "UID FETCH")
        for item in data:
            count += 1
            size += len(item[0]) if isinstance(item, tuple) else len(item)
    elif workload == "single":
        for uid in uids:
            typ, data = conn.uid("FETCH", str(uid), full)
            check(typ, data, "UID FETCH")
            for item in data:
                if isinstance(item, tuple):
                    count += 1
                    size += len(item[1])
    elif workload == "store":
        for uid in uids:
            typ, data = conn.uid("STORE", str(uid), "+FLAGS", "(\\Flagged)")
            check(typ, data, "UID STORE")
            count += 1
    else:
        raise SystemExit(f"unknown workload {workload}")
    return count, size, data


def main():
    if len(sys.argv) < 8:
        raise SystemExit(__doc__)
    host, port, security, cafile, user, password, workload = sys.argv[1:8]
    port = int(port)
    uids = [int(u) for u in sys.argv[8].split(",")] if len(sys.argv) > 8 and sys.argv[8] else []
    if workload == "pop3":
        if security == "tls":
            pop = poplib.POP3_SSL(host, port, context=context(cafile))
        else:
            pop = poplib.POP3(host, port)
        pop.user(user)
        pop.pass_(password)
        c0, t0 = cpu(), time.perf_counter()
        count = size = 0
        for n in uids:
            _, lines, octets = pop.retr(n)
            count += 1
            size += octets
        wall, used = time.perf_counter() - t0, cpu() - c0
        free = 0.0
        pop.quit()
    else:
        conn = imap_connect(host, port, security, cafile, user, password)
        c0, t0 = cpu(), time.perf_counter()
        count, size, data = run_imap(conn, workload, uids)
        wall, used = time.perf_counter() - t0, cpu() - c0
        t1 = time.perf_counter()
        del data
        free = time.perf_counter() - t1
        conn.logout()
    print(json.dumps({"wall": wall, "cpu": used, "free": free, "count": count, "bytes": size}))


if __name__ == "__main__":
    main()
