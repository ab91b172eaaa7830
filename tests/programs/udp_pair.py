"""UDP: no connection, each sendto() is one datagram and each recvfrom()
returns one, with where it came from.

    python3 udp_pair.py"""

import socket

server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
server.bind(("127.0.0.1", 0))
client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

client.sendto(b"ping", server.getsockname())
data, client_addr = server.recvfrom(1024)
server.sendto(data.upper(), client_addr)
reply, _ = client.recvfrom(1024)
print("client got", reply)
