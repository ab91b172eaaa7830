"""A parent that listens, then forks; the child becomes another program
(exec) that connects and sends a greeting, which the parent reads.

    python3 fork_exec.py"""

import os
import socket
import sys

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.bind(("127.0.0.1", 0))
server.listen(1)
port = server.getsockname()[1]

child = os.fork()
if child == 0:
    server.close()
    greet = "import socket; socket.create_connection(('127.0.0.1', %d)).sendall(b'hi from the child')" % port
    os.execv(sys.executable, [sys.executable, "-c", greet])

conn, _ = server.accept()
data = b""
while True:
    chunk = conn.recv(1024)
    if not chunk:
        break
    data += chunk
print("parent got", data)
os.waitpid(child, 0)
