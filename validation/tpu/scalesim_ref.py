#!/usr/bin/python3
"""Runs SCALE-Sim v2 (github.com/scalesim-project/scale-sim-v2) on GEMM layers and writes the
reference CSV that tests/unit/test_tpu_scalesim.cpp compares xpusim's TPU model against.

Usage: /usr/bin/python3 scalesim_ref.py SCALESIM_SRC_DIR SHAPES.csv OUT.csv [--mode calc|user|compute]
  SCALESIM_SRC_DIR holds the `scalesim/` package of the commit named in README.md (extract it
  with `git --git-dir=<mirror> archive <commit> scalesim | tar -x -C DIR`).
  SHAPES.csv has columns: layer,M,K,N,rows,cols,dataflow,ifmap_kb,filter_kb,ofmap_kb,bw
  (bw in words per cycle, used only in USER mode).
Each layer runs through SCALE-Sim's own single_layer_sim exactly as `scale.py -i gemm` would run
it (GEMM M,N,K becomes a 1-wide convolution: ifmap M x K, filter K x N, word size 1 byte).
--mode compute builds only SCALE-Sim's demand matrices (its systolic_compute_* classes, whose
row count is the stall-free cycle count) and skips the memory simulation, which takes minutes
on larger layers; calc and user run the whole layer in that bandwidth mode.
Needs Debian's /usr/bin/python3 with python3-numpy and python3-tqdm.
"""
import csv
import sys
import time


def run_layer(src, row, user_mode, compute_only):
    sys.path.insert(0, src)
    from scalesim.scale_config import scale_config
    from scalesim.topology_utils import topologies
    from scalesim.single_layer_sim import single_layer_sim

    m, k, n = int(row["M"]), int(row["K"]), int(row["N"])
    conf = scale_config()
    conf_list = ["ref", row["rows"], row["cols"], row["ifmap_kb"], row["filter_kb"],
                 row["ofmap_kb"], 0, 10000000, 20000000, row["dataflow"],
                 "USER" if user_mode else "CALC", [int(row["bw"])]]
    conf.update_from_list(conf_list)
    topo = topologies()
    # scale.py's GEMM reader: [name, ifmap h=M, ifmap w=K, filter h=1, filter w=K, ch=1, filt=N,
    # stride 1, 1]
    topo.load_layer_params_from_list(row["layer"], [row["layer"], m, k, 1, k, 1, n, 1, 1])
    layer = single_layer_sim()
    layer.set_params(layer_id=0, config_obj=conf, topology_obj=topo, verbose=False)
    t0 = time.time()
    if compute_only:
        _, ifmap = layer.op_mat_obj.get_ifmap_matrix()
        _, filt = layer.op_mat_obj.get_filter_matrix()
        _, ofmap = layer.op_mat_obj.get_ofmap_matrix()
        cs = layer.compute_system
        cs.set_params(config_obj=conf, ifmap_op_mat=ifmap, filter_op_mat=filt, ofmap_op_mat=ofmap)
        cs.create_demand_matrices()
        return {
            "demand_lines": int(cs.get_ofmap_demand_mat().shape[0]),
            "mapping_eff_pct": f"{cs.get_avg_mapping_efficiency() * 100:.6f}",
            "ifmap_sram_reads": int(cs.get_ifmap_requests()),
            "filter_sram_reads": int(cs.get_filter_requests()),
            "ofmap_sram_writes": int(cs.get_ofmap_requests()),
            "scalesim_wall_s": f"{time.time() - t0:.3f}",
        }
    layer.run()
    wall = time.time() - t0
    total, stall, util, mapping_eff, compute_util = layer.get_compute_report_items()
    d = layer.get_detail_report_items()
    return {
        "total_cycles": int(total),
        "stall_cycles": int(stall),
        "util_pct": f"{util:.6f}",
        "mapping_eff_pct": f"{mapping_eff:.6f}",
        "compute_util_pct": f"{compute_util:.6f}",
        "demand_lines": int(layer.compute_system.get_ofmap_demand_mat().shape[0]),
        "ifmap_dram_reads": int(d[11]),
        "filter_dram_reads": int(d[14]),
        "ofmap_dram_writes": int(d[17]),
        "scalesim_wall_s": f"{wall:.3f}",
    }


def main():
    if len(sys.argv) < 4:
        print(__doc__)
        return 2
    src, shapes, out = sys.argv[1:4]
    mode = sys.argv[sys.argv.index("--mode") + 1] if "--mode" in sys.argv else "calc"
    user_mode, compute_only = mode == "user", mode == "compute"
    with open(shapes) as f:
        rows = list(csv.DictReader(f))
    if compute_only:
        fields = list(rows[0].keys()) + ["mode", "demand_lines", "mapping_eff_pct",
                                         "ifmap_sram_reads", "filter_sram_reads",
                                         "ofmap_sram_writes", "scalesim_wall_s"]
    else:
        fields = list(rows[0].keys()) + ["mode", "total_cycles", "stall_cycles", "util_pct",
                                         "mapping_eff_pct", "compute_util_pct", "demand_lines",
                                         "ifmap_dram_reads", "filter_dram_reads",
                                         "ofmap_dram_writes", "scalesim_wall_s"]
    with open(out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        for i, row in enumerate(rows):
            res = run_layer(src, row, user_mode, compute_only)
            res["mode"] = mode
            w.writerow({**row, **res})
            f.flush()
            print(f"{i + 1}/{len(rows)} {row['layer']} {row['dataflow']} "
                  f"{row['rows']}x{row['cols']}: {res['demand_lines']} lines "
                  f"({res['scalesim_wall_s']} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
