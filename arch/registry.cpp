// Device-type registry and the type dispatch for hardware configuration files.
#include "arch/registry.h"

#include <fmt/format.h>

#include "sim/base/hash.h"
#include "sim/base/suggest.h"

namespace xpusim {

void register_cpu(DeviceRegistry& r);
void register_gpu(DeviceRegistry& r);
void register_tpu(DeviceRegistry& r);

void register_all(DeviceRegistry& registry) {
  register_cpu(registry);
  register_gpu(registry);
  register_tpu(registry);
}

const DeviceRegistry& device_registry() {
  static const DeviceRegistry registry = [] {
    DeviceRegistry r;
    register_all(r);
    return r;
  }();
  return registry;
}

void DeviceRegistry::add(DeviceType t) {
  XPUSIM_ASSERT(!find(t.type), "device type registered twice: " + t.type);
  types_.push_back(std::move(t));
}

const DeviceType* DeviceRegistry::find(std::string_view type) const {
  for (const auto& t : types_)
    if (t.type == type) return &t;
  return nullptr;
}

std::vector<std::string> DeviceRegistry::types() const {
  std::vector<std::string> out;
  for (const auto& t : types_) out.push_back(t.type);
  return out;
}

std::string config_fingerprint(const CfgNode& tree) {
  // Over the canonical YAML: stable across runs and platforms.
  return Fnv1a64().add(to_yaml(tree)).hex();
}

std::unique_ptr<Device> make_device(const CfgNode& tree, const std::string& name) {
  const auto& reg = device_registry();
  const CfgNode* type = tree.find("type");
  if (!type || !type->is_scalar()) {
    throw ConfigError(
        type ? type->loc : tree.loc, "type",
        fmt::format("a hardware file needs `type:`, one of: {}", fmt::join(reg.types(), ", ")));
  }
  const DeviceType* t = reg.find(type->scalar);
  if (!t) {
    throw ConfigError(
        type->loc, "type",
        fmt::format("'{}' is not a hardware type; expected one of: {}{}", type->scalar,
                    fmt::join(reg.types(), ", "), did_you_mean(type->scalar, reg.types())));
  }
  ErrorList errors;
  auto dev = t->make(tree, name, errors);
  errors.throw_if_any();
  XPUSIM_ASSERT(dev != nullptr, "device factory returned null without an error");
  return dev;
}

}  // namespace xpusim
