"""The same two messages, framed: each goes out behind a 4-byte length
(struct 'i', as the course's fixed header), and the server reads exactly
one header, then exactly the body it announces, twice."""

import socket
import struct
import threading


def recv_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed in the middle of a message")
        data += chunk
    return data


server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.bind(("127.0.0.1", 0))
server.listen(5)


def serve():
    conn, addr = server.accept()
    for _ in range(2):
        size = struct.unpack("i", recv_exact(conn, 4))[0]
        print("server got", recv_exact(conn, size))
    conn.close()


t = threading.Thread(target=serve)
t.start()
client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
client.connect(server.getsockname())
for message in [b"hello", b"feng"]:
    client.send(struct.pack("i", len(message)) + message)
t.join()
client.close()
server.close()
