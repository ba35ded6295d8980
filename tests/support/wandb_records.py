"""Reads an offline wandb run back: history rows, config and exit code from its `.wandb` file.

The file is wandb's LevelDB-style log (a 7-byte ``:W&B`` header, 32 KiB blocks of CRC'd chunks)
of `wandb_internal_pb2.Record` messages. CRCs are not checked.
"""

import json
import struct
from pathlib import Path

BLOCK, CHUNK_HEADER = 32 * 1024, struct.Struct("<IHB")  # crc32, length, chunk type
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def read_offline_run(wandb_dir: Path) -> dict:
    """The single offline run under ``wandb_dir``: history rows, config keys, exit code."""
    from wandb.proto import wandb_internal_pb2

    (path,) = wandb_dir.glob("wandb/offline-run-*/run-*.wandb")
    data = path.read_bytes()
    if data[:4] != b":W&B":
        raise ValueError(f"{path} is not a wandb run file.")
    run = {"history": [], "config": {}, "exit_code": None}
    pos, pending = 7, b""
    while pos + CHUNK_HEADER.size <= len(data):
        if BLOCK - pos % BLOCK < CHUNK_HEADER.size:  # a block's tail too short for a chunk
            pos += BLOCK - pos % BLOCK
            continue
        _, length, kind = CHUNK_HEADER.unpack_from(data, pos)
        payload = data[pos + CHUNK_HEADER.size : pos + CHUNK_HEADER.size + length]
        pos += CHUNK_HEADER.size + length
        pending = payload if kind in (FULL, FIRST) else pending + payload
        if kind not in (FULL, LAST):
            continue
        record = wandb_internal_pb2.Record()
        record.ParseFromString(pending)
        kind_name = record.WhichOneof("record_type")
        if kind_name == "history":
            items = record.history.item
            run["history"].append({i.key or "/".join(i.nested_key): i.value_json for i in items})
        elif kind_name == "config":
            for item in record.config.update:
                run["config"][item.key or "/".join(item.nested_key)] = item.value_json
        elif kind_name == "exit":
            run["exit_code"] = record.exit.exit_code
    return run


def logged(run: dict, key: str) -> list[float]:
    """Every value logged under ``key``, in order."""
    return [json.loads(row[key]) for row in run["history"] if key in row]
