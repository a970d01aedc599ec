#!/usr/bin/env python3
# gen-seeds.py - write the seed inputs of fuzz_netlink, fuzz_gso and fuzz_rtmsg
#
#   tests/fuzz/gen-seeds.py [DIR]    (default: tests/fuzz/seeds)
#
# The files are committed; run this again only to change them. Formats:
# see the comments at the top of tests/fuzz/fuzz_netlink.c and fuzz_gso.c, and
# include/rtmsg.h for macOS's routing messages.
import os
import socket
import struct
import sys

# ---- rtnetlink ---------------------------------------------------------------

NLM_F_MULTI = 2
NLMSG_ERROR, NLMSG_DONE, NLMSG_OVERRUN = 2, 3, 4
RTM_NEWLINK, RTM_DELLINK, RTM_NEWADDR, RTM_DELADDR, RTM_NEWROUTE = 16, 17, 20, 21, 24
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_LINKINFO = 1, 3, 4, 18
IFLA_INFO_KIND = 1
IFA_ADDRESS, IFA_LOCAL, IFA_LABEL, IFA_FLAGS = 1, 2, 3, 8
IFF_UP = 1
AF_BRIDGE = 7


def attr(t, payload):
    a = struct.pack("=HH", 4 + len(payload), t) + payload
    return a + b"\0" * (-len(a) % 4)


def msg(t, body, flags=NLM_F_MULTI, seq=1):
    m = struct.pack("=IHHII", 16 + len(body), t, flags, seq, 0) + body
    return m + b"\0" * (-len(m) % 4)


def link(t, index, name, kind="bridge", up=True, family=0):
    body = struct.pack("=BxHiII", family, 1, index, IFF_UP if up else 0, 0xffffffff)
    body += attr(IFLA_IFNAME, name.encode() + b"\0")
    body += attr(IFLA_MTU, struct.pack("=I", 1500))
    body += attr(IFLA_ADDRESS, bytes([2, 0x42, 0xac, 0x11, 0, index & 0xff]))
    if kind:
        body += attr(IFLA_LINKINFO, attr(IFLA_INFO_KIND, kind.encode() + b"\0"))
    return msg(t, body)


def addr(t, index, cidr, local=True, flags=0):
    a, plen = cidr.split("/")
    fam = socket.AF_INET6 if ":" in a else socket.AF_INET
    raw = socket.inet_pton(fam, a)
    body = struct.pack("=BBBBI", fam, int(plen), 0, 0, index)
    body += attr(IFA_ADDRESS, raw)
    if local:
        body += attr(IFA_LOCAL, raw)
    if fam == socket.AF_INET:
        body += attr(IFA_LABEL, b"docker0\0")
    body += attr(IFA_FLAGS, struct.pack("=I", flags))
    return msg(t, body)


def done():
    return msg(NLMSG_DONE, struct.pack("=i", 0))


def datagrams(*dgs):
    """fuzz_netlink's input: datagrams with 16-bit little-endian lengths."""
    return b"".join(struct.pack("<H", len(d)) + d for d in dgs)


def netlink_seeds():
    s = {}
    s["docker0"] = datagrams(
        link(RTM_NEWLINK, 3, "docker0") + addr(RTM_NEWADDR, 3, "172.17.0.1/16") +
        addr(RTM_NEWADDR, 3, "fd00:17::1/64", local=False) +
        addr(RTM_NEWADDR, 3, "fe80::42:acff:fe11:1/64", local=False) + done())
    s["lifecycle"] = datagrams(
        link(RTM_NEWLINK, 7, "br-0123456789ab", up=False),
        addr(RTM_NEWADDR, 7, "10.5.0.1/24"),
        addr(RTM_NEWADDR, 7, "10.99.3.1/24"),	# excluded prefix
        link(RTM_NEWLINK, 7, "br-0123456789ab"),
        addr(RTM_DELADDR, 7, "10.5.0.1/24"),
        link(RTM_DELLINK, 7, "br-0123456789ab"))
    s["others"] = datagrams(
        link(RTM_NEWLINK, 4, "veth1a2b3c", kind="veth") + addr(RTM_NEWADDR, 4, "10.6.0.1/24"),
        link(RTM_NEWLINK, 5, "br-skipme") + addr(RTM_NEWADDR, 5, "10.7.0.1/24"),
        link(RTM_NEWLINK, 4, "veth1a2b3c", kind=None, family=AF_BRIDGE))
    s["rename"] = datagrams(
        link(RTM_NEWLINK, 9, "br-aaaa") + addr(RTM_NEWADDR, 9, "10.8.0.1/24"),
        link(RTM_NEWLINK, 9, "br-bbbb", kind=None),
        link(RTM_NEWLINK, 9, "eth9", kind=None),
        link(RTM_NEWLINK, 10, "br-aaaa"))
    many = link(RTM_NEWLINK, 11, "br-many")
    for i in range(10):
        many += addr(RTM_NEWADDR, 11, "10.9.%d.1/24" % i)
    s["many-addrs"] = datagrams(many, addr(RTM_DELADDR, 11, "10.9.0.1/24"),
                                addr(RTM_NEWADDR, 11, "10.9.9.1/24", flags=0x08))
    # more bridges than the table holds, then room made again
    s["overflow"] = datagrams(
        b"".join(link(RTM_NEWLINK, 100 + i, "br-%02d" % i) for i in range(66)),
        link(RTM_DELLINK, 100, "br-00"))
    s["control"] = datagrams(
        msg(NLMSG_ERROR, struct.pack("=i", -16) + msg(RTM_NEWLINK, b"", 0)[:16]),
        msg(RTM_NEWROUTE, struct.pack("=BBBBBBBBI", 2, 24, 0, 0, 254, 3, 0, 1, 0) +
            attr(1, socket.inet_pton(socket.AF_INET, "10.5.0.0"))),
        link(RTM_NEWLINK, 12, "docker0") + msg(NLMSG_OVERRUN, b""),
        done())
    # an IFLA_IFNAME whose length runs past the message
    t = bytearray(link(RTM_NEWLINK, 13, "br-trunc"))
    struct.pack_into("=H", t, 32, 200)
    s["truncated"] = datagrams(bytes(t), link(RTM_NEWLINK, 14, "br-ok")[:40])
    return s

# ---- virtio-net header + packets ---------------------------------------------------


def csum(data):
    if len(data) & 1:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def ip4(proto, l4, ident=1, df=True, src=b"\x0a\x09\x08\x01", dst=b"\xac\x11\x00\x02"):
    h = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), ident,
                              0x4000 if df else 0, 64, proto, 0, src, dst))
    struct.pack_into("!H", h, 10, ~csum(bytes(h)) & 0xffff)
    return bytes(h)


def ip6(proto, l4):
    return struct.pack("!IHBB16s16s", 0x60000000, len(l4), proto, 64,
                       socket.inet_pton(socket.AF_INET6, "fd00::1"),
                       socket.inet_pton(socket.AF_INET6, "fd01::2"))


def pseudo(v6, proto, l4len):
    if v6:
        return (socket.inet_pton(socket.AF_INET6, "fd00::1") +
                socket.inet_pton(socket.AF_INET6, "fd01::2") + struct.pack("!IxxxB", l4len, proto))
    return b"\x0a\x09\x08\x01\xac\x11\x00\x02" + struct.pack("!xBH", proto, l4len)


def tcp(seq, payload, flags=0x10, opts=b"\x01\x01\x08\x0a" + b"\0" * 8):
    return bytearray(struct.pack("!HHIIBBHHH", 40000, 5201, seq, 7777,
                                 (20 + len(opts)) // 4 << 4, flags, 500, 0, 0) + opts + payload)


def udp(payload):
    return bytearray(struct.pack("!HHHH", 40000, 4789, 8 + len(payload), 0) + payload)


def packet(v6, proto, l4, full=True, ident=1, df=True):
    """An IP packet; full: transport checksum complete, else the pseudo-header sum."""
    off = 16 if proto == 6 else 6
    ph = csum(pseudo(v6, proto, len(l4)))
    c = (~csum(pseudo(v6, proto, len(l4)) + bytes(l4)) & 0xffff) if full else ph
    if full and proto == 17 and c == 0:
        c = 0xffff
    struct.pack_into("!H", l4, off, c)
    return (ip6(proto, l4) if v6 else ip4(proto, l4, ident, df)) + bytes(l4)


def vnet(flags, gso_type, hdr_len, gso_size, csum_start, csum_offset):
    return struct.pack("=BBHHHH", flags, gso_type, hdr_len, gso_size, csum_start, csum_offset)


def merge_input(mode, pkts):
    return bytes([mode]) + b"".join(struct.pack("<H", len(p)) + p for p in pkts)


def gso_seeds():
    s = {}
    pl = bytes(range(256)) * 16
    # split: TUN superpackets (partial checksum, as the kernel hands them over)
    s["split-tcp4"] = b"\0" + vnet(1, 1, 52, 1000, 20, 16) + packet(False, 6, tcp(1, pl[:3500], 0x18), False)
    s["split-tcp6-ecn"] = b"\0" + vnet(1, 0x84, 72, 700, 40, 16) + packet(True, 6, tcp(1 << 31, pl[:2000], 0x90), False)
    s["split-udp4"] = b"\0" + vnet(1, 5, 28, 500, 20, 6) + packet(False, 17, udp(pl[:1700]), False)
    s["split-udp6"] = b"\0" + vnet(1, 5, 48, 1200, 40, 6) + packet(True, 17, udp(pl[:1200]), False)
    s["split-csum-only"] = b"\0" + vnet(1, 0, 0, 0, 20, 6) + packet(False, 17, udp(pl[:300]), False)
    s["split-plain"] = b"\0" + vnet(0, 0, 0, 0, 0, 0) + packet(True, 17, udp(pl[:64]))
    # merge: one flow of full segments and a short last one, interleaved flows
    offl = (1 | 2 | 4) << 1 | 1
    seq = 1000
    flow = []
    for i, n in enumerate([1000, 1000, 1000, 400]):
        flow.append(packet(False, 6, tcp(seq, pl[:n], 0x18 if i == 3 else 0x10), ident=10 + i))
        seq += n
    s["merge-tcp4"] = merge_input(offl, flow)
    seq = 5
    flow6 = []
    for n in [1200, 1200, 1200]:
        flow6.append(packet(True, 6, tcp(seq, pl[:n]), True))
        seq += n
    s["merge-tcp6-udp"] = merge_input(offl, [flow6[0], packet(True, 17, udp(pl[:800])), flow6[1],
                                             packet(True, 17, udp(pl[:800])), flow6[2],
                                             packet(False, 17, udp(pl[:100]))])
    s["merge-nodf-fixup"] = merge_input(offl | 0x30, [
        packet(False, 17, udp(pl[:600]), ident=100, df=False),
        packet(False, 17, udp(pl[:600]), ident=101, df=False),
        packet(False, 17, udp(pl[:599]), ident=102, df=False)])
    s["merge-no-offload"] = merge_input(1 | 4 << 1, flow)
    return s


# ---- macOS routing messages (xnu bsd/net/route.h, little-endian) -------------

RTM_VERSION, RTM_ADD, RTM_GET = 5, 1, 4


def rt_sa(b):
    return b + b"\0" * (-len(b) % 4 if b else 4)


def rt_msg(typ, index, flags, addrs, sas):
    body = b"".join(rt_sa(x) for x in sas)
    hdr = struct.pack("<HBBHxxiiiiiiI", 92 + len(body), RTM_VERSION, typ, index, flags, addrs,
                      0, 0, 0, 0, 0) + b"\0" * 56
    return hdr + body


def sin(a, ln=16):
    return (struct.pack("BB", ln, socket.AF_INET) + b"\0\0" + socket.inet_aton(a) + b"\0" * 8)[:ln]


def sin6(a):
    return struct.pack("BB", 28, 30) + b"\0" * 6 + socket.inet_pton(socket.AF_INET6, a) + b"\0" * 4


def sdl(index, name=b""):
    return (struct.pack("<BBHBBBB", 20, 18, index, 1, len(name), 0, 0) + name + b"\0" * 12)[:20]


def rtmsg_seeds():
    mask16 = b"\x06\x00\x00\x00\xff\xff"
    s = {}
    s["add-172-17"] = rt_msg(RTM_ADD, 0, 0x801, 7, [sin("172.17.0.0"), sdl(15, b"utun4"),
                                                   sin("255.255.0.0")])
    s["dump"] = (rt_msg(RTM_GET, 4, 0x803, 7, [sin("0.0.0.0"), sin("192.0.2.1"), b""]) +
                 rt_msg(RTM_GET, 15, 0x801, 7, [sin("172.17.0.0"), sdl(15, b"utun4"), mask16]) +
                 rt_msg(RTM_GET, 4, 0x20405, 3, [sin("192.0.2.7"), sdl(4, b"en0")]) +
                 rt_msg(RTM_GET, 4, 0x805, 3, [sin("192.0.2.9"), sdl(4)]))
    s["dump6"] = (rt_msg(RTM_GET, 15, 0x801, 7, [sin6("fd00::"), sdl(15), b"\x09\x00" + b"\0" * 6 + b"\xff"]) +
                  rt_msg(RTM_GET, 1, 0x805, 3, [sin6("fe80::1"), sdl(1)]))
    return s


def main():
    top = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "seeds")
    for name, seeds in (("netlink", netlink_seeds()), ("gso", gso_seeds()),
                       ("rtmsg", rtmsg_seeds())):
        d = os.path.join(top, name)
        os.makedirs(d, exist_ok=True)
        for k, v in seeds.items():
            with open(os.path.join(d, k), "wb") as f:
                f.write(v)


if __name__ == "__main__":
    main()
