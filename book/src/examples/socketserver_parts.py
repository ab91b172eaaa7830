"""socketserver taken apart: which class does what, and what a handler gets.

Run it with python3 (standard library only). It starts a threaded TCP
server and a UDP server on ports the OS picks, talks to each once, and
prints what the handlers saw.
"""
import socket
import socketserver
import threading

seen = {}


class EchoHandler(socketserver.BaseRequestHandler):
    def handle(self):
        # The communication loop lives here, in your handler.
        while True:
            data = self.request.recv(1024)
            if not data:  # the client closed its side
                break
            self.request.sendall(data.upper())
        seen["tcp"] = (
            isinstance(self.request, socket.socket),
            self.request is not self.server.socket,
            type(self.server).__name__,
            threading.current_thread() is not threading.main_thread(),
        )


class DatagramHandler(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request  # for UDP: the datagram and the server's socket
        seen["udp"] = (type(self.request).__name__, data, sock is self.server.socket)
        sock.sendto(data.upper(), self.client_address)


order = " -> ".join(c.__name__ for c in socketserver.ThreadingTCPServer.__mro__)
print("ThreadingTCPServer looks attributes up in:", order)

with socketserver.ThreadingTCPServer(("127.0.0.1", 0), EchoHandler) as tcp:
    # serve_forever is the connection loop: accept, then a thread per connection.
    threading.Thread(target=tcp.serve_forever, daemon=True).start()
    with socket.create_connection(tcp.server_address) as client:
        client.sendall(b"hello")
        print("TCP client got:", client.recv(1024))
    while "tcp" not in seen:
        threading.Event().wait(0.01)
    tcp.shutdown()
is_socket, not_listener, server_type, own_thread = seen["tcp"]
print("TCP self.request is a socket:", is_socket)
print("TCP self.request is the connection, not the listening socket:", not_listener)
print("TCP self.server is a", server_type, "object (its socket is self.server.socket)")
print("TCP handle() ran in a thread of its own:", own_thread)

with socketserver.UDPServer(("127.0.0.1", 0), DatagramHandler) as udp:
    threading.Thread(target=udp.serve_forever, daemon=True).start()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.settimeout(5)
        client.sendto(b"hi", udp.server_address)
        print("UDP client got:", client.recvfrom(1024)[0])
    udp.shutdown()
kind, data, same = seen["udp"]
print("UDP self.request is a", kind, "of the datagram", data, "and the server's socket:", same)
