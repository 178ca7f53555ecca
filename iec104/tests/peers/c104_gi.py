"""General interrogation timing between a lib60870 outstation and a lib60870 client (through c104), on loopback.

Usage: c104_gi.py POINTS TRIALS PORT

The outstation (common address 1) holds POINTS short floats (M_ME_NC_1) at consecutive addresses from 1000;
the client knows the same points, as a controlling station with a point database would. Each trial sends
C_IC_NA_1 (station) and waits for its ACT_TERM. Prints one line per trial: seconds and the number of
information objects that arrived with cause 20 (interrogated by station) before ACT_TERM.

Observed deviation (c104 2.2.1): the outstation hands the whole answer to lib60870's bounded send queue, which
drops what does not fit, so a large interrogation terminates with only part of the points delivered. The
object count makes that visible; the caller compares per delivered object as well as per interrogation.
"""

import sys
import threading
import time

import c104


def main():
    points, trials, port = (int(a) for a in sys.argv[1:4])
    server = c104.Server(ip="127.0.0.1", port=port)
    station = server.add_station(common_address=1)
    for i in range(points):
        station.add_point(io_address=1000 + i, type=c104.Type.M_ME_NC_1).value = float(i)
    server.start()

    client = c104.Client(tick_rate_ms=50)
    connection = client.add_connection(ip="127.0.0.1", port=port, init=c104.Init.NONE)
    known = connection.add_station(common_address=1)
    for i in range(points):
        known.add_point(io_address=1000 + i, type=c104.Type.M_ME_NC_1)

    terminated = threading.Event()
    received = [0]

    def on_raw(connection: c104.Connection, data: bytes) -> None:
        # An I frame: control octet 1 has bit 0 clear; the ASDU starts at octet 6.
        if len(data) < 12 or data[2] & 1:
            return
        cause = data[8] & 0x3F
        if data[6] == 100 and cause == 10:
            terminated.set()
        elif cause == 20:
            received[0] += data[7] & 0x7F

    connection.on_receive_raw(callable=on_raw)
    client.start()
    deadline = time.time() + 10
    while connection.state != c104.ConnectionState.OPEN_MUTED and time.time() < deadline:
        time.sleep(0.01)
    connection.unmute()
    while connection.state != c104.ConnectionState.OPEN and time.time() < deadline:
        time.sleep(0.01)
    if connection.state != c104.ConnectionState.OPEN:
        sys.exit(f"c104 client did not start data transfer: {connection.state}")

    for _ in range(trials):
        terminated.clear()
        received[0] = 0
        start = time.perf_counter()
        connection.interrogation(common_address=1, cause=c104.Cot.ACTIVATION, qualifier=c104.Qoi.STATION,
                                 wait_for_response=False)
        if not terminated.wait(timeout=120):
            sys.exit("no ACT_TERM within 120 s")
        print(f"{time.perf_counter() - start:.6f} {received[0]}", flush=True)
        time.sleep(0.2)
    client.stop()
    server.stop()


if __name__ == "__main__":
    main()
