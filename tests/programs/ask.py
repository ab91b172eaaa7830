"""Sends one message to the server on PORT and prints its answer.

    python3 ask.py PORT MESSAGE"""

import socket
import sys

with socket.create_connection(("127.0.0.1", int(sys.argv[1]))) as client:
    client.send(sys.argv[2].encode())
    print(client.recv(1024).decode())
