"""Helpers shared by the test programs: a server says which port the OS
gave it by writing it to a file (written whole, then renamed, so a reader
never sees half a number); a client waits for that file."""

import os
import time


def publish(path, port):
    with open(path + ".tmp", "w") as f:
        f.write(str(port))
    os.rename(path + ".tmp", path)


def wait_for(path, seconds=20):
    deadline = time.monotonic() + seconds
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise SystemExit("no port file " + path)
        time.sleep(0.01)
    with open(path) as f:
        return int(f.read())
