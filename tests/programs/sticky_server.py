"""Sticky packet (粘包), server side: one recv(1024) that returns what two
send() calls of the client wrote.

    python3 sticky_server.py PORT_FILE

It reads only once the 9 bytes are all in its receive buffer (FIONREAD:
how many bytes are waiting), so the lesson never depends on timing."""

import fcntl
import socket
import struct
import sys
import termios
import time

from portfile import publish

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.bind(("127.0.0.1", 0))
server.listen(5)
publish(sys.argv[1], server.getsockname()[1])

conn, client_addr = server.accept()
while True:
    waiting = struct.unpack("i", fcntl.ioctl(conn, termios.FIONREAD, b"\0\0\0\0"))[0]
    if waiting >= 9:
        break
    time.sleep(0.005)
data = conn.recv(1024)
print("server got", data)
conn.send(data.upper())
conn.close()
server.close()
