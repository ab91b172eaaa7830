"""Uploads 3000 bytes behind a 4-byte length header.

    python3 upload_client.py PORT_FILE"""

import socket
import struct
import sys

from portfile import wait_for

port = wait_for(sys.argv[1])
body = b"x" * 3000
with socket.create_connection(("127.0.0.1", port)) as client:
    client.sendall(struct.pack("!I", len(body)))
    client.sendall(body)
    print(client.recv(1024).decode())
