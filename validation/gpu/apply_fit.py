#!/usr/bin/env python3
"""Writes the values printed by `xpusim validate --hw h100 --fit` into a GPU preset YAML.

usage: xpusim validate --hw h100 --fit > fit.txt && python3 validation/gpu/apply_fit.py fit.txt configs/hw/gpu/h100.yaml

Only existing keys are changed (value replaced in place, comments kept); it understands the
block maps and one-line flow maps ({bw: .., fixed: ..}) that the GPU presets use.
"""
import re
import sys


def main():
    fit_file, yaml_file = sys.argv[1], sys.argv[2]
    values = {}
    for line in open(fit_file):
        if line.startswith("#") or ":" not in line:
            continue
        key, value = line.split(":", 1)
        values[key.strip()] = re.sub(r"^([0-9.eE+-]+)([A-Za-z/]+)$", r"\1 \2", value.strip())
    lines = open(yaml_file).read().split("\n")
    stack = []  # (indent, key)
    done = set()
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*)([A-Za-z0-9_]+):(\s*)(.*)$", line)
        if not m:
            continue
        indent, key, _, rest = len(m.group(1)), m.group(2), m.group(3), m.group(4)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = ".".join([k for _, k in stack] + [key])
        body, comment = (rest.split("#", 1) + [""])[:2]
        if body.strip().startswith("{"):
            def sub(mm):
                sub_path = path + "." + mm.group(1)
                if sub_path in values:
                    done.add(sub_path)
                    return f"{mm.group(1)}: {values[sub_path]}"
                return mm.group(0)
            new_body = re.sub(r"([A-Za-z0-9_]+):\s*([^,}]+)", sub, body)
            lines[i] = line.replace(body, new_body, 1)
        elif body.strip() and path in values:
            done.add(path)
            pad = " " * max(1, len(body) - len(body.rstrip()))
            lines[i] = f"{m.group(1)}{key}: {values[path]}" + (f"{pad}#{comment}" if comment else "")
        if not body.strip():
            stack.append((indent, key))
    missing = sorted(set(values) - done)
    if missing:
        sys.exit(f"{yaml_file}: no key for {', '.join(missing)}")
    open(yaml_file, "w").write("\n".join(lines))


if __name__ == "__main__":
    main()
