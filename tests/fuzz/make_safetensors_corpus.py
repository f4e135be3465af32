#!/usr/bin/env python3
"""Writes the seed corpus of the safetensors fuzz target: small valid files (each dtype, a
scalar, an empty tensor, metadata) and broken ones (truncated, bad lengths, offsets outside the
data, overlapping tensors, bad JSON). Deterministic; rerun to regenerate
tests/fuzz/corpus/fuzz_safetensors/ (existing files of the same name are overwritten, crash
reproducers added by hand are kept)."""
import json
import os
import struct
import sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_safetensors")

SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1, "I64": 8,
         "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


def pack(tensors, metadata=None, header_text=None, length=None, tail=b""):
    """tensors: list of (name, dtype, shape, data bytes); offsets are laid out in order."""
    header, data, off = {}, b"", 0
    for name, dtype, shape, blob in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(blob)]}
        data += blob
        off += len(blob)
    if metadata is not None:
        header["__metadata__"] = metadata
    text = header_text if header_text is not None else json.dumps(header, separators=(",", ":"))
    raw = text.encode()
    n = len(raw) if length is None else length
    return struct.pack("<Q", n) + raw + data + tail


def blob(dtype, count):
    return bytes((i * 37 + 11) & 0xFF for i in range(SIZES[dtype] * count))


def files():
    out = {}
    for dtype in SIZES:
        out[f"valid_{dtype.lower()}"] = pack([("w", dtype, [2, 3], blob(dtype, 6))])
    out["valid_scalar"] = pack([("s", "F32", [], struct.pack("<f", 1.5))])
    out["valid_empty_tensor"] = pack([("e", "F16", [0, 4], b"")])
    out["valid_two_tensors_metadata"] = pack(
        [("a.weight", "BF16", [4], blob("BF16", 4)), ("b.bias", "F32", [2], blob("F32", 2))],
        metadata={"format": "pt"})
    out["valid_no_tensors"] = pack([], metadata={"note": "empty"})
    out["valid_padded_header"] = pack([("w", "F32", [1], blob("F32", 1))],
                                      header_text=json.dumps({"w": {"dtype": "F32", "shape": [1],
                                                              "data_offsets": [0, 4]}}) + "    ")
    good = pack([("w", "F32", [2, 2], blob("F32", 4))])
    out["broken_truncated_length"] = good[:5]
    out["broken_truncated_header"] = good[:20]
    out["broken_truncated_data"] = good[:-3]
    out["broken_length_too_big"] = pack([("w", "F32", [1], blob("F32", 1))], length=1 << 40)
    out["broken_length_zero"] = pack([], length=0)
    out["broken_offsets_outside"] = pack([], header_text=json.dumps(
        {"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4096]}}))
    out["broken_offsets_reversed"] = pack([], header_text=json.dumps(
        {"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}), tail=b"\0" * 4)
    out["broken_overlap"] = pack([], header_text=json.dumps(
        {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
         "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}), tail=b"\0" * 12)
    out["broken_shape_mismatch"] = pack([], header_text=json.dumps(
        {"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}), tail=b"\0" * 8)
    out["broken_shape_overflow"] = pack([], header_text=json.dumps(
        {"w": {"dtype": "F32", "shape": [4294967296, 4294967296, 16], "data_offsets": [0, 4]}}),
        tail=b"\0" * 4)
    out["broken_negative_dim"] = pack([], header_text=json.dumps(
        {"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}), tail=b"\0" * 4)
    out["broken_bad_dtype"] = pack([], header_text=json.dumps(
        {"w": {"dtype": "F4", "shape": [1], "data_offsets": [0, 1]}}), tail=b"\0")
    out["broken_not_json"] = pack([], header_text='{"w": {"dtype": "F32", "shape": [1]')
    out["broken_not_object"] = pack([], header_text="[1, 2, 3]")
    out["broken_bad_utf8"] = struct.pack("<Q", 12) + b'{"\xff\xfe": 1}\x00\x00'
    out["broken_metadata_not_strings"] = pack([], metadata={"n": 3})
    out["broken_duplicate_key"] = pack([], header_text=
        '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
        '"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', tail=b"\0" * 4)
    out["broken_deep_nesting"] = pack([], header_text='{"__metadata__":' + "[" * 2000 + "]" * 2000 + "}")
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in files().items():
        with open(os.path.join(OUT, name + ".safetensors"), "wb") as f:
            f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
