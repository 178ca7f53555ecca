"""Scan a SunSpec device with pysunspec2 (the SunSpec Alliance's client) and print what it found as JSON.

usage: pysunspec2_scan.py HOST PORT UNIT [EXTRA_MODELS_DIR]

EXTRA_MODELS_DIR adds model definitions (the IDEA vendor models 649xx) to pysunspec2's own.

Output: {"base": N, "models": [{"id", "address", "length", "points": {PATH: {"raw", "impl", "computed"}}}]}
with paths in the Rust crate's syntax (`Crv[0].Pt[1].V`).
"""
import json
import sys

import sunspec2.device
import sunspec2.modbus.client as client


def walk(group, prefix, points):
    for pid, p in group.points.items():
        raw = p.value
        impl = raw is not None and p.info.is_impl(raw)
        if isinstance(raw, bytes):
            raw = raw.decode("latin-1")
        computed = p.cvalue if impl else None
        points[prefix + pid] = {"raw": raw, "impl": bool(impl), "computed": computed, "type": p.pdef["type"]}
    for gid, g in group.groups.items():
        if isinstance(g, list):
            for i, gi in enumerate(g):
                walk(gi, "%s%s[%d]." % (prefix, gid, i), points)
        else:
            walk(g, "%s%s." % (prefix, gid), points)


def main():
    host, port, unit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if len(sys.argv) > 4:
        sunspec2.device.set_model_defs_path(sunspec2.device.get_model_defs_path() + [sys.argv[4]])
    device = client.SunSpecModbusClientDeviceTCP(slave_id=unit, ipaddr=host, ipport=port, timeout=5)
    device.scan()
    out = {"base": device.base_addr, "models": []}
    # Every model by id (device.model_list leaves out models pysunspec2 has no definition for).
    found = [m for key, ms in device.models.items() if isinstance(key, int) for m in ms]
    for model in sorted(found, key=lambda m: m.model_addr):
        points = {}
        walk(model, "", points)
        out["models"].append(
            {"id": model.model_id, "address": model.model_addr, "length": model.model_len, "points": points}
        )
    # Write a setpoint through pysunspec2 and read it back (the DER profile's model 704).
    if 704 in device.models:
        ctl = device.models[704][0]
        ctl.WSet.cvalue = 1234
        ctl.write()
        ctl.read()
        out["written"] = {"704.WSet": ctl.WSet.cvalue}
    device.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
