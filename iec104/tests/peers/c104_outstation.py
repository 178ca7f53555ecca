"""An IEC 60870-5-104 outstation on lib60870 (through the c104 package) for interoperability tests.

Usage: c104_outstation.py PORT

Station common address 1 with points:
  1001 M_ME_NC_1 = 50.0      2001 M_SP_NA_1 = on
  3001 C_SE_NC_1 (direct)    4001 C_SC_NA_1 (direct)    5001 C_SC_NA_1 (select and execute)
Link timers t1 = 4 s, t2 = 2 s, t3 = 3 s and a 3 s select timeout keep conformance runs short.
Prints READY once listening and RECEIVED <ioa> <value> for each command it executes; stops when stdin closes.
"""

import sys

import c104


def main():
    port = int(sys.argv[1])
    server = c104.Server(ip="127.0.0.1", port=port, select_timeout_ms=3000)
    params = server.protocol_parameters
    params.message_timeout = 4
    params.confirm_interval = 2
    params.keep_alive_interval = 3
    station = server.add_station(common_address=1)
    measured = station.add_point(io_address=1001, type=c104.Type.M_ME_NC_1)
    measured.value = 50.0
    single = station.add_point(io_address=2001, type=c104.Type.M_SP_NA_1)
    single.value = True

    def on_command(
        point: c104.Point, previous_info: c104.Information, message: c104.IncomingMessage
    ) -> c104.ResponseState:
        print(f"RECEIVED {point.io_address} {point.value}", flush=True)
        return c104.ResponseState.SUCCESS

    for ioa, kind, mode in [
        (3001, c104.Type.C_SE_NC_1, c104.CommandMode.DIRECT),
        (4001, c104.Type.C_SC_NA_1, c104.CommandMode.DIRECT),
        (5001, c104.Type.C_SC_NA_1, c104.CommandMode.SELECT_AND_EXECUTE),
    ]:
        point = station.add_point(io_address=ioa, type=kind, command_mode=mode)
        point.on_receive(callable=on_command)
    server.start()
    print("READY", flush=True)
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    main()
