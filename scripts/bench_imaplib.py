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
    idle    N threads (N in UIDS), each its own imaplib connection in a raw IDLE (imaplib
            has no IDLE: the "IDLE" line a Python service writes by hand); prints
            {"n", "rss_kb_per_listener", "idle_cpu_ms_per_s", "spawn"} instead
UIDS is a comma-separated list (single, store, pop3).

Connecting and logging in are not measured. Prints one line of JSON:
{"wall": seconds, "cpu": user+system seconds of this process, "count": items, "bytes": n}
"""

import imaplib
import json
import os
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


def rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return float(line.split()[1])
    return float("nan")


def run_idle(host, port, security, cafile, user, password, n):
    """N threads, each IDLEing on its own connection, as a Python service would write it."""
    import threading

    ready = threading.Barrier(n + 1)
    stop = threading.Event()
    conns = []

    def watch():
        conn = imap_connect(host, port, security, cafile, user, password)
        conns.append(conn)
        tag = conn._new_tag().decode()
        conn.send(f"{tag} IDLE\r\n".encode())
        line = conn.readline()  # "+ idling"
        if not line.startswith(b"+"):
            raise SystemExit(f"IDLE refused: {line!r}")
        ready.wait()
        while not stop.is_set():
            line = conn.readline()  # blocks until the server speaks
            if not line:
                break

    rss0 = rss_kb()
    t0 = time.perf_counter()
    threads = [threading.Thread(target=watch, daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    ready.wait()
    spawn = time.perf_counter() - t0
    time.sleep(2)
    rss1 = rss_kb()
    c0, w0 = cpu(), time.perf_counter()
    time.sleep(10)
    idle_cpu = (cpu() - c0) * 1e3 / (time.perf_counter() - w0)
    stop.set()
    print(json.dumps({"n": n, "rss_kb_per_listener": (rss1 - rss0) / n,
                      "idle_cpu_ms_per_s": idle_cpu, "spawn": spawn}), flush=True)
    os._exit(0)


def main():
    if len(sys.argv) < 8:
        raise SystemExit(__doc__)
    host, port, security, cafile, user, password, workload = sys.argv[1:8]
    port = int(port)
    uids = [int(u) for u in sys.argv[8].split(",")] if len(sys.argv) > 8 and sys.argv[8] else []
    if workload == "idle":
        run_idle(host, port, security, cafile, user, password, uids[0] if uids else 100)
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
