"""A client and a server on loopback, in one process, made to show TCP's
troubles in a capture (for the TCP analysis tests, run inside a private
network namespace where nftables may drop packets):

    python3 tcp_trouble.py bulk       # 300 kB one way: drops become
                                      # retransmissions and duplicate ACKs
    python3 tcp_trouble.py stall      # a receiver with a small buffer that
                                      # stops reading: zero window, then a
                                      # window update when it reads again
    python3 tcp_trouble.py keepalive  # an idle connection with SO_KEEPALIVE
                                      # after 1 s: keep-alives and their ACKs

The server binds port 0; the client learns the port from the listener.
Prints what the server received, so a test sees the transfer was whole."""

import socket
import sys
import threading
import time

BULK = 300_000
STALL = 400_000


def serve(listener, read_after, result):
    conn, _ = listener.accept()
    if read_after:
        # Not reading: the receive buffer fills, the window closes.
        time.sleep(read_after)
    got = 0
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        got += len(chunk)
    conn.close()
    result.append(got)


def main():
    scenario = sys.argv[1]
    listener = socket.socket()
    if scenario == "stall":
        # A small receive buffer (set before listen, so the accepted socket
        # inherits it and the handshake announces a small window).
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    result = []
    read_after = 1.5 if scenario == "stall" else 0
    server = threading.Thread(target=serve, args=(listener, read_after, result))
    server.start()

    client = socket.socket()
    if scenario == "keepalive":
        client.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
    client.connect(listener.getsockname())
    if scenario == "bulk":
        sent = BULK
        block = b"x" * 2000
        for _ in range(BULK // len(block)):
            client.sendall(block)
    elif scenario == "stall":
        sent = STALL
        client.sendall(b"y" * STALL)
    elif scenario == "keepalive":
        sent = 5
        client.sendall(b"hello")
        # Idle: after 1 s the kernel checks the peer, then every 1 s.
        time.sleep(2.6)
    else:
        sys.exit("usage: tcp_trouble.py bulk|stall|keepalive")
    client.close()
    server.join()
    print("sent %d received %d" % (sent, result[0]))


if __name__ == "__main__":
    main()
