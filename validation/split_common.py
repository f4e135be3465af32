#!/usr/bin/env python3
"""What every dataset's split script shares: the hash bucket of a row key, and the check that
re-derives each stored row's `set` (printing counts only, never values)."""
import csv
import hashlib


def bucket(key):
    """0..99 from sha1 of `key`: a row is hold-out when its bucket is below the set's share."""
    return int(hashlib.sha1(key.encode()).hexdigest()[:8], 16) % 100


def check_files(paths, assign_row):
    """Re-derives `set` with assign_row(row) for every row of the CSVs; returns the exit code."""
    bad = 0
    for p in paths:
        with open(p) as f:
            rows = list(csv.DictReader(f))
        counts = {}
        for r in rows:
            s = assign_row(r)
            bad += s != r.get("set", s)
            counts[s] = counts.get(s, 0) + 1
        print(p, len(rows), counts)
    if bad:
        print("MISMATCH", bad)
    return 1 if bad else 0
