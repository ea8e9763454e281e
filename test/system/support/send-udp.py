#!/usr/bin/env python3
"""Sends COUNT UDP datagrams from SRC:SPORT to DST:DPORT with the given DSCP, INTERVAL_MS
apart (default 2), each carrying SIZE bytes of payload (default, or 0: a short numbered text).

Usage: send-udp.py SRC SPORT DST DPORT DSCP COUNT [SIZE [INTERVAL_MS]]   (IPv4 or IPv6 addresses)
"""
import socket
import sys
import time

src, sport, dst, dport, dscp, count = sys.argv[1:7]
size = int(sys.argv[7]) if len(sys.argv) > 7 else 0
interval = float(sys.argv[8]) / 1000 if len(sys.argv) > 8 else 0.002
family = socket.AF_INET6 if ':' in dst else socket.AF_INET
sock = socket.socket(family, socket.SOCK_DGRAM)
tos = int(dscp) << 2
if family == socket.AF_INET6:
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, tos)
else:
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tos)
sock.bind((src, int(sport)))
for i in range(min(int(count), 10000)):
    payload = b'callqos-probe %d ' % i
    sock.sendto(payload.ljust(size, b'.'), (dst, int(dport)))
    time.sleep(interval)
