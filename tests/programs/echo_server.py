"""An upper-casing server that serves one client at a time, forever, until
a client sends `quit`.

    python3 echo_server.py PORT_FILE"""

import socket
import sys

from portfile import publish

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 0))
server.listen(5)
publish(sys.argv[1], server.getsockname()[1])
while True:
    conn, client_addr = server.accept()
    data = conn.recv(1024)
    if data == b"quit":
        conn.send(b"bye")
        conn.close()
        break
    conn.send(data.upper())
    conn.close()
