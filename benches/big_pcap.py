#!/usr/bin/env python3
"""Writes a big, valid classic pcap of many TCP connections over loopback.

    python3 benches/big_pcap.py OUT.pcap [MiB] [CONNECTIONS]

Each connection (client 127.0.0.1:30000+i, server 127.0.0.1:9000+i%16) is
a handshake whose SYNs carry MSS, window scale and SACK-permitted options,
then the client sends data in 1,448-byte segments (the payload of a
1,500-byte MTU) that the server acknowledges every second segment, then
both sides close with FIN. Eight connections run at a time, their packets
interleaved, 10 us apart. Every IP and TCP checksum is correct, so
`lab inspect --detail` and tshark both find them good. The file's size
is about MiB (1024 by default); CONNECTIONS defaults to 4000.
"""

import struct
import sys

MSS = 1448
CONCURRENT = 8
SERVER_PORTS = 16
LOCAL = bytes([127, 0, 0, 1])
PAYLOAD = bytes((i * 7 + 13) % 251 for i in range(MSS))
# A data record: pcap header 16, Ethernet 14, IPv4 20, TCP 20, payload.
DATA_RECORD = 16 + 14 + 20 + 20 + MSS
ACK_RECORD = 16 + 14 + 20 + 20


def words(data):
    """Sum of the big-endian 16-bit words of `data` (padded with a zero)."""
    if len(data) % 2:
        data += b"\0"
    return sum(struct.unpack("!%dH" % (len(data) // 2), data))


def fold(total):
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


PSEUDO = words(LOCAL + LOCAL)
SYN_OPTIONS = bytes([2, 4, 0x05, 0xB4, 1, 3, 3, 7, 4, 2, 1, 1])  # mss, nop, ws=7, sackOK, nop, nop
PAYLOAD_SUMS = {}


def payload_sum(n):
    if n not in PAYLOAD_SUMS:
        PAYLOAD_SUMS[n] = words(PAYLOAD[:n])
    return PAYLOAD_SUMS[n]


class Writer:
    def __init__(self, path):
        self.out = open(path, "wb", buffering=1 << 20)
        # Little-endian, microseconds, snaplen 262144, Ethernet.
        self.out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        self.t_us = 1_700_000_000 * 1_000_000
        self.ip_id = 0
        self.size = 24

    def packet(self, sport, dport, seq, ack, flags, n, options=b""):
        """One TCP segment carrying the first `n` bytes of PAYLOAD."""
        doff = 5 + len(options) // 4
        tcp_len = doff * 4 + n
        header = struct.pack(
            "!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
            doff << 4, flags, 512, 0, 0) + options
        csum = fold(PSEUDO + 6 + tcp_len + words(header) + payload_sum(n))
        header = header[:16] + struct.pack("!H", csum) + header[18:]
        self.ip_id = (self.ip_id + 1) & 0xFFFF
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + tcp_len, self.ip_id, 0x4000,
                         64, 6, 0, LOCAL, LOCAL)
        ip = ip[:10] + struct.pack("!H", fold(words(ip))) + ip[12:]
        frame_len = 14 + 20 + tcp_len
        self.t_us += 10
        record = struct.pack("<IIII", self.t_us // 1_000_000, self.t_us % 1_000_000,
                             frame_len, frame_len)
        self.out.write(record + b"\0" * 12 + b"\x08\x00" + ip + header + PAYLOAD[:n])
        self.size += 16 + frame_len


SYN, FIN, PSH, ACK = 0x02, 0x01, 0x08, 0x10


def connection(i, data_bytes):
    """The packets of connection `i`, as (writer method arguments)."""
    cport, sport = 30000 + i % 30000, 9000 + i % SERVER_PORTS
    c_isn, s_isn = (i * 2654435761) & 0xFFFFFFFF, (i * 40503 + 12345) & 0xFFFFFFFF
    yield (cport, sport, c_isn, 0, SYN, 0, SYN_OPTIONS)
    yield (sport, cport, s_isn, c_isn + 1, SYN | ACK, 0, SYN_OPTIONS)
    seq, ack = c_isn + 1, s_isn + 1
    yield (cport, sport, seq, ack, ACK, 0, b"")
    sent, segments = 0, 0
    while sent < data_bytes:
        n = min(MSS, data_bytes - sent)
        yield (cport, sport, seq + sent, ack, PSH | ACK, n, b"")
        sent += n
        segments += 1
        if segments % 2 == 0 or sent == data_bytes:
            yield (sport, cport, ack, seq + sent, ACK, 0, b"")
    yield (cport, sport, seq + sent, ack, FIN | ACK, 0, b"")
    yield (sport, cport, ack, seq + sent + 1, FIN | ACK, 0, b"")
    yield (cport, sport, seq + sent + 1, ack + 1, ACK, 0, b"")


def main():
    path = sys.argv[1]
    mib = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
    conns = int(sys.argv[3]) if len(sys.argv) > 3 else 4000
    # Per data segment: its record and half an ACK's.
    per_segment = DATA_RECORD + ACK_RECORD / 2
    data_bytes = max(1, int(mib * 2**20 / conns / per_segment)) * MSS
    w = Writer(path)
    started = 0
    active = []
    while active or started < conns:
        while len(active) < CONCURRENT and started < conns:
            active.append(connection(started, data_bytes))
            started += 1
        for c in list(active):
            p = next(c, None)
            if p is None:
                active.remove(c)
            else:
                w.packet(*p)
    w.out.close()
    print(f"{path}: {w.size / 2**20:.0f} MiB, {conns} connections of {data_bytes} B each")


if __name__ == "__main__":
    main()
