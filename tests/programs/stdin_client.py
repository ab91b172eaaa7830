"""A client that reads commands at a `>>: ` prompt and sends each to an
echo server (a thread of the same program), printing the answer, until
`exit` or the end of its input.

    python3 stdin_client.py"""

import socket
import threading

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.bind(("127.0.0.1", 0))
server.listen(1)


def echo():
    conn, _ = server.accept()
    while True:
        data = conn.recv(1024)
        if not data:
            break
        conn.send(b"echo: " + data)
    conn.close()


threading.Thread(target=echo).start()
client = socket.create_connection(server.getsockname())
while True:
    try:
        cmd = input(">>: ").strip()
    except EOFError:
        break
    if cmd == "exit":
        break
    if not cmd:
        continue
    client.send(cmd.encode())
    print(client.recv(1024).decode())
client.close()
