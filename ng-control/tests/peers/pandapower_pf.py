"""Solve a MATPOWER case with pandapower's Newton-Raphson and print the result as JSON.

Usage: pandapower_pf.py CASE.m [--repeat N]

Reads the standard MATPOWER text format (mpc.baseMVA, mpc.bus, mpc.gen, mpc.branch), converts it with
pandapower.converter.from_ppc and runs pandapower.runpp. Prints
{"converged", "buses": [{"bus", "vm_pu", "va_deg"}], "losses_mw", "seconds"}; "seconds" is the time of the
runpp call alone (the median of N calls with --repeat), for benchmark ratios.
"""

import json
import re
import sys
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")
import pandapower as pp  # noqa: E402
from pandapower.converter.pypower.from_ppc import from_ppc  # noqa: E402


def matrix(text, name, width):
    m = re.search(r"mpc\." + name + r"\s*=\s*\[(.*?)\];", text, re.S)
    if not m:
        raise SystemExit(f"no mpc.{name}")
    rows = []
    for chunk in re.split(r"[;\n]", m.group(1)):
        chunk = chunk.split("%")[0].strip()
        if chunk:
            values = [float(v) for v in chunk.split()]
            rows.append(values + [0.0] * (width - len(values)))
    return np.array(rows)


def main():
    text = open(sys.argv[1]).read()
    text = "\n".join(line.split("%")[0] for line in text.splitlines())
    base = float(re.search(r"mpc\.baseMVA\s*=\s*([0-9.eE+-]+)", text).group(1))
    ppc = {
        "version": "2",
        "baseMVA": base,
        "bus": matrix(text, "bus", 13),
        "gen": matrix(text, "gen", 21),
        "branch": matrix(text, "branch", 13),
    }
    net = from_ppc(ppc, f_hz=50, validate_conversion=False)
    repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 1
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        pp.runpp(net, algorithm="nr", init="flat", tolerance_mva=1e-10, max_iteration=50, numba=False)
        times.append(time.perf_counter() - start)
    seconds = sorted(times)[len(times) // 2]
    losses = float(net.res_line.pl_mw.sum()) + (float(net.res_trafo.pl_mw.sum()) if len(net.trafo) else 0.0)
    buses = [
        {"bus": int(ppc["bus"][i][0]), "vm_pu": float(net.res_bus.vm_pu.iloc[i]), "va_deg": float(net.res_bus.va_degree.iloc[i])}
        for i in range(len(ppc["bus"]))
    ]
    print(json.dumps({"converged": bool(net.converged), "buses": buses, "losses_mw": losses, "seconds": seconds}))


if __name__ == "__main__":
    main()
