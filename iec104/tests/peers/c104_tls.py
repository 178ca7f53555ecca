"""A lib60870 outstation (through c104) with TLS, for the IEC 62351-3 interoperability tests of our client.

Usage: c104_tls.py PORT CERTDIR

Common address 1 with 1001 M_ME_NC_1 = 50.0 and 3001 C_SE_NC_1 (direct); the certificate CERTDIR/outstation.pem;
the client's chain is validated against CERTDIR/ca.pem (validate=True, only_known=False). Prints READY, then
RECEIVED <ioa> <value> for each command it executes; stops when stdin closes.

Deviation (c104 2.2.1, its bundled mbedtls): a c104 *client* with TLS fails every handshake with -0x5D80, both
against this outstation and against ours, also with validate=False; the error appears to be mbedtls's
MBEDTLS_ERR_SSL_CERTIFICATE_VERIFICATION_WITHOUT_HOSTNAME (lib60870 sets no host name). So c104 is used as the
TLS outstation only; OpenSSL's s_client stands in for a TLS client of our outstation.
"""

import os
import sys

import c104


def main():
    port, certs = int(sys.argv[1]), sys.argv[2]
    tls = c104.TransportSecurity(validate=True, only_known=False)
    tls.set_certificate(cert=os.path.join(certs, "outstation.pem"), key=os.path.join(certs, "outstation.key"))
    tls.set_ca_certificate(cert=os.path.join(certs, "ca.pem"))
    server = c104.Server(ip="127.0.0.1", port=port, transport_security=tls)
    station = server.add_station(common_address=1)
    station.add_point(io_address=1001, type=c104.Type.M_ME_NC_1).value = 50.0

    def on_command(
        point: c104.Point, previous_info: c104.Information, message: c104.IncomingMessage
    ) -> c104.ResponseState:
        print(f"RECEIVED {point.io_address} {point.value}", flush=True)
        return c104.ResponseState.SUCCESS

    setpoint = station.add_point(io_address=3001, type=c104.Type.C_SE_NC_1, command_mode=c104.CommandMode.DIRECT)
    setpoint.on_receive(callable=on_command)
    server.start()
    print("READY", flush=True)
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    main()
