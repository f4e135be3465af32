// Several devices in one SystemC simulation: each device runs its program (compute spans, sends,
// receives, collectives) as a process of its own; point-to-point sends and collectives go through
// each device's link target (bandwidth, latency, queue). Pipeline bubbles, waiting for a peer and
// link contention come out of the simulation. Times in seconds, sizes in bytes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/engine/engine.h"

namespace xpusim {

struct DeviceStep {
  enum class Kind { kCompute, kSend, kRecv, kCollective };
  Kind kind = Kind::kCompute;
  double duration_s = 0;  // kCompute: busy time (from the device's own engine run)
  int peer = -1;          // kSend, kRecv: the other device
  double bytes = 0;       // kSend: message; kCollective: this rank's wire bytes
  double fixed_s = 0;     // kCollective: the protocol's fixed latency
  int group = -1;         // kCollective: which collective (every member names the same id)
  std::string label;      // for the trace: what the step is ("attn.qkv … mlp.down", "allreduce")

  static DeviceStep compute(double s) { return {Kind::kCompute, s}; }
  static DeviceStep send(int to, double bytes) { return {Kind::kSend, 0, to, bytes}; }
  static DeviceStep recv(int from) { return {Kind::kRecv, 0, from}; }
  static DeviceStep collective(int group, double wire_bytes, double fixed_s) {
    return {Kind::kCollective, 0, -1, wire_bytes, fixed_s, group};
  }
};

struct DeviceTimeline {
  double finish_s = 0;     // when its last step ended
  double busy_s = 0;       // computing
  double wait_s = 0;       // waiting for a peer's data or a collective's members
  double link_busy_s = 0;  // its link's occupancy
};

struct MultiDeviceResult {
  double makespan_s = 0;
  std::vector<DeviceTimeline> devices;
};

// Runs the programs (one per device) concurrently in a fresh SystemC context; `link` is each
// device's egress link. A send does not block its sender (the copy runs on the link); a receive
// waits for the matching send's last byte. Throws std::invalid_argument for a program that names
// a device that does not exist, and std::runtime_error when the programs deadlock.
// With `trace`, each device's steps (track "steps": compute, send, receive wait, collective) and
// its link's busy intervals and bandwidth (track "link") are appended to it, by device index.
MultiDeviceResult simulate_devices(const std::vector<std::vector<DeviceStep>>& programs,
                                   const MemLevelSpec& link, EngineTrace* trace = nullptr);

// A forward pass over `stage_steps.size()` pipeline stages of `tp` tensor-parallel ranks each
// (device s * tp + r), `m` micro-batches in GPipe order. `stage_steps[s]` is what one rank of
// stage s does for one micro-batch: compute spans and collectives, whose `group` numbers them
// within the stage (the ranks of a stage meet in each; the simulation gives each micro-batch its
// own rendezvous). Each rank sends `activation_bytes` to its peer in the next stage per
// micro-batch; sends and collectives occupy the device's link.
MultiDeviceResult simulate_parallel(const std::vector<std::vector<DeviceStep>>& stage_steps,
                                    int tp, int64_t m, double activation_bytes,
                                    const MemLevelSpec& link, EngineTrace* trace = nullptr);

// The pipeline of single compute spans: `stage_s[s]` per micro-batch on stage s.
MultiDeviceResult simulate_pipeline(const std::vector<double>& stage_s, int64_t m,
                                    double activation_bytes, const MemLevelSpec& link);

}  // namespace xpusim
