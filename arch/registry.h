// The explicit registry of device types: each family registers itself (by `type:`) from
// register_all(), so the linker cannot drop it; read-only once built.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "arch/device.h"
#include "sim/config/config_tree.h"
#include "sim/config/schema.h"

namespace xpusim {

struct DeviceType {
  std::string type;  // "gpu"
  const SchemaBase* schema = nullptr;
  // Validates the resolved tree; problems go to `errors` and the result is then null.
  std::function<std::unique_ptr<Device>(const CfgNode& tree, const std::string& name,
                                        ErrorList& errors)>
      make;
};

// A short stable hash of the resolved tree, for op-result cache keys.
std::string config_fingerprint(const CfgNode& tree);

class DeviceRegistry {
 public:
  void add(DeviceType t);
  const DeviceType* find(std::string_view type) const;
  std::vector<std::string> types() const;

 private:
  std::vector<DeviceType> types_;
};

void register_all(DeviceRegistry& registry);

// The registry entry of a family whose device is built from its validated config struct:
// Dev(const Cfg&, name, fingerprint).
template <class Cfg, class Dev>
DeviceType device_type(std::string type, const Schema<Cfg>& schema) {
  return {
      std::move(type), &schema,
      [&schema](const CfgNode& tree, const std::string& name, ErrorList& errors) {
        Cfg c = schema.parse(tree, errors);
        if (!errors.empty()) return std::unique_ptr<Device>();
        return std::unique_ptr<Device>(std::make_unique<Dev>(c, name, config_fingerprint(tree)));
      }};
}
const DeviceRegistry& device_registry();  // built once by register_all()

// Builds a device from a resolved hardware tree, dispatching on its `type`. Throws ConfigError
// with every problem found.
std::unique_ptr<Device> make_device(const CfgNode& tree, const std::string& name);

}  // namespace xpusim
