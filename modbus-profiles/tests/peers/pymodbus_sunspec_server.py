"""Serve a SunSpec map with pymodbus: models 1, 701, 705 (2 curves of 3 points), 711 (2 controls) and 713,
laid out from the official JSON model definitions by this script (not by the Rust crate), every point given
a deterministic value (the grid frequency and AC voltages those of a real connection), with 100 coils,
discrete inputs and input registers from address 0 besides. Prints {"port": N, "models": [...]} (each model's id, address and registers) on one
line, then serves until killed.

usage: pymodbus_sunspec_server.py MODELS_DIR
"""
import asyncio
import json
import os
import socket
import struct
import sys

from pymodbus.datastore import ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext
from pymodbus.server import StartAsyncTcpServer

BASE = 40000
COUNTS = {705: {"NCrv": 2, "NPt": 3}, 711: {"NCtl": 2}}
SIZES = {"int16": 1, "uint16": 1, "count": 1, "acc16": 1, "enum16": 1, "bitfield16": 1, "pad": 1, "sunssf": 1,
         "int32": 2, "uint32": 2, "acc32": 2, "enum32": 2, "bitfield32": 2, "ipaddr": 2, "float32": 2,
         "int64": 4, "uint64": 4, "acc64": 4, "float64": 4, "eui48": 4, "ipv6addr": 8}


def value_regs(point, n, counts):
    """Registers for one point: its count, a scale factor of -1, text, or a number derived from n."""
    name, kind, size = point["name"], point["type"], point["size"]
    if name in counts:
        return [counts[name]]
    if kind == "sunssf":
        return [0xFFFF]  # -1
    # A grid connection's frequency and AC voltages read as a real one's (50.0 Hz, 230.0 V at scale -1).
    real = {"Hz": 500, "V": 2300}.get(point.get("units"))
    if real and (name == "Hz" or name.startswith(("PhV", "PPV"))) and kind in ("uint16", "uint32"):
        return [0] * (size - 1) + [real]
    if kind == "string":
        text = ("P%d" % n).encode()[: size * 2].ljust(size * 2, b"\0")
        return list(struct.unpack(">%dH" % size, text))
    if kind == "pad":
        return [0x8000]
    if kind == "float32":
        return list(struct.unpack(">2H", struct.pack(">f", n + 0.5)))
    if kind in ("enum16", "enum32"):
        symbols = point.get("symbols") or [{"value": 1}]
        v = symbols[n % len(symbols)]["value"]
        return [0] * (size - 1) + [v] if size == 2 else [v]
    if kind.startswith("int"):
        v = -(n % 300) - 1 if n % 2 else n % 3000 + 1
        return list(struct.unpack(">%dH" % size, v.to_bytes(size * 2, "big", signed=True)))
    v = n % 3000 + 1
    return list(struct.unpack(">%dH" % size, v.to_bytes(size * 2, "big")))


def group_regs(group, counts, n):
    regs = []
    for point in group.get("points", []):
        n[0] += 1
        regs += value_regs(point, n[0], counts)
    for sub in group.get("groups", []):
        count = sub.get("count", 1)
        if isinstance(count, str):
            count = counts[count]
        for _ in range(count):
            regs += group_regs(sub, counts, n)
    return regs


def build(models_dir):
    regs = [0x5375, 0x6E53]
    models = []
    n = [0]
    for mid in (1, 701, 705, 711, 713):
        with open(os.path.join(models_dir, "model_%d.json" % mid)) as f:
            definition = json.load(f)
        body = group_regs(definition["group"], COUNTS.get(mid, {}), n)
        body[0], body[1] = mid, len(body) - 2
        models.append({"id": mid, "address": BASE + len(regs), "registers": body})
        regs += body
    regs += [0xFFFF, 0]
    return regs, models


async def main():
    regs, models = build(sys.argv[1])
    block = ModbusSequentialDataBlock(BASE + 1, regs)  # pymodbus adds 1 to addresses on the wire
    # Coils, discrete inputs and input registers 0-99 besides the map, for the modbus-device suite.
    bits = lambda: ModbusSequentialDataBlock(1, [False] * 100)  # noqa: E731
    device = ModbusDeviceContext(
        co=bits(), di=bits(), ir=ModbusSequentialDataBlock(1, list(range(100))), hr=block
    )
    context = ModbusServerContext(devices=device, single=True)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    print(json.dumps({"port": port, "models": models}), flush=True)
    await StartAsyncTcpServer(context=context, address=("127.0.0.1", port))


if __name__ == "__main__":
    asyncio.run(main())
