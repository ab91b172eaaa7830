"""An upload server built on socketserver.ThreadingTCPServer: every
connection is handled on a thread of its own. The client sends a header
(the body's length, 4 bytes in network order) then the body; the server
answers with how many bytes it stored. Serves one upload, then ends.

    python3 upload_server.py PORT_FILE"""

import socketserver
import struct
import sys

from portfile import publish


class Upload(socketserver.BaseRequestHandler):
    def handle(self):
        header = self.recv_exactly(4)
        (size,) = struct.unpack("!I", header)
        body = self.recv_exactly(size)
        self.request.sendall(("stored %d" % len(body)).encode())

    def recv_exactly(self, n):
        got = b""
        while len(got) < n:
            chunk = self.request.recv(min(n - len(got), 1024))
            if not chunk:
                raise ConnectionError("the client left early")
            got += chunk
        return got


with socketserver.ThreadingTCPServer(("127.0.0.1", 0), Upload) as server:
    publish(sys.argv[1], server.server_address[1])
    server.handle_request()
# Leaving the `with` block joins the handler's thread.
