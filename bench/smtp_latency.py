#!/usr/bin/python3
"""smtp_latency.py - client-side end-of-DATA -> reply latency, a cross-check
of the figure rapportd measures itself.

    smtp_latency.py HOST:PORT [SESSIONS=20] [MESSAGES_PER_SESSION=100] [SIZE=20480]

Each session (a thread with a raw socket) sends EHLO once, then per message
MAIL, RCPT, DATA, the body, and times only the final ".\\r\\n" -> reply. The
clock includes this Python client's own scheduling, so it over-states the
server's share a little. Prints n, p50, p90, p99, max in microseconds.
"""
import socket
import sys
import threading
import time


def reply(sock, buf):
    while True:
        while b"\r\n" not in buf[0]:
            d = sock.recv(65536)
            if not d:
                raise RuntimeError("connection closed")
            buf[0] += d
        line, buf[0] = buf[0].split(b"\r\n", 1)
        if line[3:4] != b"-":
            return int(line[:3])


def session(addr, count, size, out):
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = [b""]
    reply(s, buf)
    s.sendall(b"EHLO latency.example\r\n")
    reply(s, buf)
    line = b"Y" * 78 + b"\r\n"
    body = (b"From: <lat@example.org>\r\nTo: <sink@example.net>\r\nSubject: Latency probe\r\n\r\n" +
            line * (size // len(line)))
    for i in range(count):
        s.sendall(b"MAIL FROM:<lat@example.org>\r\n")
        assert reply(s, buf) == 250
        s.sendall(b"RCPT TO:<sink@example.net>\r\n")
        assert reply(s, buf) == 250
        s.sendall(b"DATA\r\n")
        assert reply(s, buf) == 354
        s.sendall(body)
        t0 = time.perf_counter()
        s.sendall(b".\r\n")
        code = reply(s, buf)
        out.append((time.perf_counter() - t0) * 1e6)
        assert code == 250, code
    s.sendall(b"QUIT\r\n")
    s.close()


def main():
    addr = sys.argv[1]
    sessions = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    per = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    size = int(sys.argv[4]) if len(sys.argv) > 4 else 20480
    out = []
    threads = [threading.Thread(target=session, args=(addr, per, size, out)) for _ in range(sessions)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    el = time.time() - t0
    out.sort()
    pct = lambda p: out[min(len(out) - 1, int(p * len(out)))]
    print("client-side end-of-DATA->reply: n=%d p50=%dus p90=%dus p99=%dus max=%dus (%.0f msgs/s, %d sessions)"
          % (len(out), pct(0.5), pct(0.9), pct(0.99), out[-1], len(out) / el, sessions))


if __name__ == "__main__":
    main()
