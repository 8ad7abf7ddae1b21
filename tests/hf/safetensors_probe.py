#!/usr/bin/env python3
"""An independent safetensors reader (the standard library only: no numpy,
torch or safetensors here), for tests/hf: prints one line per tensor,
    NAME DTYPE D0xD1x... FIRST MIDDLE LAST
where FIRST, MIDDLE and LAST are the elements at flat indexes 0, n // 2 and
n - 1 in row-major order, as Python floats (exact for F32, F16 and BF16)."""
import json
import struct
import sys

SIZES = {"F32": 4, "F16": 2, "BF16": 2}


def element(data, dtype, index):
    size = SIZES[dtype]
    raw = data[index * size:(index + 1) * size]
    if dtype == "F32":
        return struct.unpack("<f", raw)[0]
    if dtype == "F16":
        return struct.unpack("<e", raw)[0]
    return struct.unpack("<f", b"\x00\x00" + raw)[0]  # bfloat16: the high half of a float32


def main(path):
    with open(path, "rb") as f:
        blob = f.read()
    (header_len,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + header_len])
    data = blob[8 + header_len:]
    if header.get("__metadata__", {}).get("format") != "pt":
        sys.exit(f"{path}: __metadata__.format is not 'pt'")
    for name, t in sorted(header.items()):
        if name == "__metadata__":
            continue
        begin, end = t["data_offsets"]
        n = 1
        for d in t["shape"]:
            n *= d
        if end - begin != n * SIZES[t["dtype"]]:
            sys.exit(f"{path}: {name}: {end - begin} bytes for {n} elements")
        body = data[begin:end]
        values = [element(body, t["dtype"], i) for i in (0, n // 2, n - 1)]
        shape = "x".join(str(d) for d in t["shape"])
        print(name, t["dtype"], shape, *(repr(v) for v in values))


if __name__ == "__main__":
    main(sys.argv[1])
