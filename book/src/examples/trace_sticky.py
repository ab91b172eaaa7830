"""Two sends, one recv: the sticky packet (粘包) in one program.

A server thread and a client in one process, on loopback. The client
sends b"hello" and b"feng"; the server's one recv(1024) returns both.
(It waits until all 9 bytes have arrived before it reads, so what you see
never depends on timing.)"""

import fcntl
import socket
import struct
import termios
import threading
import time

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.bind(("127.0.0.1", 0))
server.listen(5)


def serve():
    conn, addr = server.accept()
    # FIONREAD: how many bytes wait in the receive buffer.
    while struct.unpack("i", fcntl.ioctl(conn, termios.FIONREAD, b"\0" * 4))[0] < 9:
        time.sleep(0.005)
    print("server got", conn.recv(1024))
    conn.close()


t = threading.Thread(target=serve)
t.start()
client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
client.connect(server.getsockname())
client.send(b"hello")
client.send(b"feng")
t.join()
client.close()
server.close()
