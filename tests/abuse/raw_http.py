"""Raw HTTP for the abuse tests: requests that `requests` will not send (a body shorter than it
declares, headers a byte at a time), from a chosen loopback address (each is its own client
to the rate limits, which count per address)."""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def send(port: int, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
         source: str = "127.0.0.1", timeout: float = 60.0) -> Answer:
    """One request on its own connection from `source` (any 127.x address is this machine)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=(source, 0))
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return Answer(response.status, dict(response.getheaders()), response.read())
    finally:
        conn.close()


def declare_more_than_sent(port: int, path: str, declared: int, sent: bytes, headers: dict[str, str],
                           timeout: float = 60.0) -> Answer:
    """Declare a `declared`-byte body, send only `sent`, and read the answer while the rest is
    still owed: an answer at all proves the server did not wait to read the whole body."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        head = "".join(f"{name}: {value}\r\n" for name, value in
                       {"Host": "localhost", "Content-Length": str(declared), **headers}.items())
        sock.sendall(f"POST {path} HTTP/1.1\r\n{head}\r\n".encode() + sent)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return Answer(response.status, dict(response.getheaders()), response.read())
    finally:
        sock.close()


@contextmanager
def slow_clients(port: int, count: int, *, body: bool) -> Iterator[list[socket.socket]]:
    """`count` clients that each start a request and then trickle it, a byte a second, for as
    long as the block runs: headers that never end, or (`body`) a body that never arrives."""
    stop = threading.Event()
    sockets: list[socket.socket] = []

    def trickle(sock: socket.socket) -> None:
        while not stop.wait(1.0):
            try:
                sock.sendall(b"x" if body else b"X-Slow: x\r\n")
            except OSError:
                return

    threads = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        start = b"POST /webhooks/mis HTTP/1.1\r\nHost: localhost\r\n"
        if body:
            start += b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
        sock.sendall(start)
        sockets.append(sock)
        threads.append(threading.Thread(target=trickle, args=(sock,), daemon=True))
    for thread in threads:
        thread.start()
    try:
        yield sockets
    finally:
        stop.set()
        for sock in sockets:
            sock.close()
        for thread in threads:
            thread.join(timeout=5)
