"""An IEC 60870-5-104 controlling station on lib60870 (through the c104 package), checked by the
`iec104-controlling` conformance suite.

Usage: c104_controlling_station.py HOST PORT

Connects to HOST:PORT with t1 = 4 s, t2 = 2 s, t3 = 3 s, k = 12, w = 8. The start-up is the application's, as
a SCADA front end built on c104 would do it: lib60870 opens each connection muted (data transfer stopped), and
this script starts data transfer (STARTDT, `unmute`), interrogates the station and synchronises its clock on
every new connection, and asks for a new connection whenever one ends. c104's own start-up (`Init.ALL`) is not
used: on a connection made after a failed attempt it leaves the connection muted. Prints READY once started;
stops when stdin closes.
"""

import sys
import threading
import time

import c104


def drive(connection: c104.Connection, stop: threading.Event) -> None:
    """Starts data transfer, interrogates and synchronises the clock once per connection."""
    served = None
    while not stop.is_set():
        state = connection.state
        opened = connection.connected_at
        if state == c104.ConnectionState.OPEN_MUTED and served != opened:
            connection.unmute()
        elif state == c104.ConnectionState.OPEN and served != opened:
            served = opened
            connection.interrogation(common_address=1, wait_for_response=False)
            connection.clock_sync(common_address=1, wait_for_response=False)
        elif state == c104.ConnectionState.CLOSED:
            connection.connect()
        time.sleep(0.05)


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    client = c104.Client(tick_rate_ms=100, command_timeout_ms=4000)
    connection = client.add_connection(ip=host, port=port, init=c104.Init.MUTED)
    params = connection.protocol_parameters
    params.send_window_size = 12
    params.receive_window_size = 8
    params.connection_timeout = 4
    params.message_timeout = 4
    params.confirm_interval = 2
    params.keep_alive_interval = 3
    connection.add_station(common_address=1)
    client.start()
    stop = threading.Event()
    driver = threading.Thread(target=drive, args=(connection, stop), daemon=True)
    driver.start()
    print("READY", flush=True)
    sys.stdin.read()
    stop.set()
    client.stop()


if __name__ == "__main__":
    main()
