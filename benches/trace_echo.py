"""The echo pair `benches/trace_overhead.sh` times: a server thread and a
client thread in one process, ROUNDS round trips of 16 bytes over TCP on
127.0.0.1 (port picked by the OS). Standard library only."""

import socket
import sys
import threading

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
MESSAGE = b"0123456789abcdef"

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.bind(("127.0.0.1", 0))
server.listen(1)


def serve():
    conn, _ = server.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while True:
        data = conn.recv(1024)
        if not data:
            break
        conn.sendall(data)
    conn.close()


worker = threading.Thread(target=serve)
worker.start()
client = socket.create_connection(server.getsockname())
client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for _ in range(ROUNDS):
    client.sendall(MESSAGE)
    got = b""
    while len(got) < len(MESSAGE):
        got += client.recv(1024)
client.close()
worker.join()
server.close()
