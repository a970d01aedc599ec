#!/usr/bin/env python3
"""slowdns.py - a name server that answers only when the test says so.

    slowdns.py DIR [ADDR [PORT]]     (default 127.0.0.1 53)

Every query is appended to DIR/queries as "NAME TYPE" (TYPE a number: 1 A,
28 AAAA). A query for NAME is held, unanswered, until the file DIR/answer-NAME
exists; then it and every later query for NAME get an answer: the IPv4
address in that file for type A, no record for any other type. DIR/ready
appears once the socket is bound. Runs until killed.
"""
import os
import select
import socket
import struct
import sys


def parse_question(msg):
    """(id, flags, question bytes, name, qtype) of a query, or None."""
    if len(msg) < 12:
        return None
    qid, flags, qdcount = struct.unpack("!HHH", msg[:6])
    if flags & 0x8000 or qdcount != 1:
        return None
    labels, pos = [], 12
    while True:
        if pos >= len(msg):
            return None
        n = msg[pos]
        pos += 1
        if n == 0:
            break
        if n & 0xC0 or pos + n > len(msg):
            return None
        labels.append(msg[pos:pos + n].decode("ascii", "replace").lower())
        pos += n
    if pos + 4 > len(msg):
        return None
    qtype, _qclass = struct.unpack("!HH", msg[pos:pos + 4])
    return qid, flags, msg[12:pos + 4], ".".join(labels), qtype


def answer(q, addr):
    qid, flags, question, _name, qtype = q
    records = b""
    if qtype == 1 and addr:
        records = struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton(addr)
    header = struct.pack("!HHHHHH", qid, 0x8180 | (flags & 0x0100), 1,
                         1 if records else 0, 0, 0)
    return header + question + records


def main():
    d = sys.argv[1]
    host = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
    port = int(sys.argv[3]) if len(sys.argv) > 3 else 53
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, port))
    open(os.path.join(d, "ready"), "w").close()
    held = []       # (query, client address)
    while True:
        r, _, _ = select.select([s], [], [], 0.1)
        if r:
            msg, peer = s.recvfrom(4096)
            q = parse_question(msg)
            if q:
                with open(os.path.join(d, "queries"), "a") as f:
                    f.write("%s %d\n" % (q[3], q[4]))
                held.append((q, peer))
        still = []
        for q, peer in held:
            path = os.path.join(d, "answer-" + q[3])
            if os.path.exists(path):
                with open(path) as f:
                    s.sendto(answer(q, f.read().strip()), peer)
            else:
                still.append((q, peer))
        held = still


if __name__ == "__main__":
    main()
