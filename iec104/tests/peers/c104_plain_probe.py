"""A plain (no TLS) lib60870 client (through c104) probing an outstation that must refuse it.

Usage: c104_plain_probe.py PORT

Connects to 127.0.0.1:PORT with c104.Init.NONE, waits up to three seconds for the connection, then tries a
station interrogation of common address 1 and prints one JSON object: {"connected", "interrogation"}.
"""

import json
import os
import sys
import time

import c104


def main():
    port = int(sys.argv[1])
    client = c104.Client(tick_rate_ms=50, command_timeout_ms=1000)
    connection = client.add_connection(ip="127.0.0.1", port=port, init=c104.Init.NONE)
    connection.add_station(common_address=1)
    client.start()
    deadline = time.time() + 3
    while not connection.is_connected and time.time() < deadline:
        time.sleep(0.05)
    result = {"connected": connection.is_connected, "interrogation": connection.interrogation(common_address=1)}
    print(json.dumps(result), flush=True)
    # c104 2.x sometimes segfaults (about 2 runs in 100) when the server drops the connection it refused, in
    # Client.stop() or in interrogation(): the answer is out, so leave without tearing the client down. The
    # caller runs the probe again when a crash comes before the answer.
    os._exit(0)


if __name__ == "__main__":
    main()
