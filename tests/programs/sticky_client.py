"""Sticky packet (粘包), client side: two small sends in a row.

    python3 sticky_client.py PORT_FILE"""

import socket
import sys

from portfile import wait_for

port = wait_for(sys.argv[1])
client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
client.connect(("127.0.0.1", port))
client.send(b"hello")
client.send(b"feng")
reply = b""
while len(reply) < 9:
    chunk = client.recv(1024)
    if not chunk:
        break
    reply += chunk
print("client got", reply)
client.close()
