"""A real DNS server on loopback (dnslib) whose zone a test edits: the app's resolver
(dnspython) asks it over UDP, exactly as it asks a customer's DNS provider."""

from __future__ import annotations

import threading

from dnslib import AAAA, CNAME, QTYPE, RCODE, RR, TXT, A
from dnslib.server import BaseResolver, DNSLogger, DNSServer

RDATA = {"A": A, "AAAA": AAAA, "CNAME": CNAME, "TXT": TXT}


class Zone(BaseResolver):
    def __init__(self):
        self._records: dict[tuple[str, str], list[str]] = {}
        self._lock = threading.Lock()
        self.queries: list[tuple[str, str]] = []

    def set(self, name: str, rtype: str, *values: str) -> None:
        with self._lock:
            self._records[(name.lower().rstrip("."), rtype)] = list(values)

    def remove(self, name: str, rtype: str) -> None:
        with self._lock:
            self._records.pop((name.lower().rstrip("."), rtype), None)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
            self.queries.clear()

    def resolve(self, request, handler):
        reply = request.reply()
        name = str(request.q.qname).lower().rstrip(".")
        rtype = QTYPE[request.q.qtype]
        with self._lock:
            self.queries.append((name, rtype))
            if not any(known == name for known, _ in self._records):
                reply.header.rcode = RCODE.NXDOMAIN
                return reply
            for value in self._records.get((name, rtype), []):
                reply.add_answer(RR(name, getattr(QTYPE, rtype), rdata=RDATA[rtype](value), ttl=60))
        return reply


class LoopbackDns:
    def __init__(self):
        self.zone = Zone()
        quiet = DNSLogger("-request,-reply,-truncated,-recv,-send,-data", prefix=False)
        self.server = DNSServer(self.zone, address="127.0.0.1", port=0, logger=quiet)
        self.port = self.server.server.server_address[1]

    def start(self) -> LoopbackDns:
        self.server.start_thread()
        return self

    def stop(self) -> None:
        self.server.stop()
        self.server.server.server_close()
