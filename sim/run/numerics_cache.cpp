#include "sim/run/numerics_cache.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <system_error>
#include <vector>

#include "sim/base/hash.h"

namespace fs = std::filesystem;

namespace xpusim {
namespace {

constexpr std::uint64_t kMaxEntryBytes = 1 << 20;

std::string read_small(const fs::path& p) {
  std::error_code ec;
  if (!fs::is_regular_file(p, ec) || fs::file_size(p, ec) > kMaxEntryBytes || ec) return "";
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return in ? ss.str() : "";
}

}  // namespace

std::optional<fs::path> numerics_cache_dir_from_env() {
  if (const char* d = std::getenv("XPUSIM_CACHE_DIR"); d && *d) {
    if (std::string(d) == "off") return std::nullopt;
    return fs::path(d) / "numerics";
  }
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x)
    return fs::path(x) / "xpusim" / "numerics";
  if (const char* h = std::getenv("HOME"); h && *h)
    return fs::path(h) / ".cache" / "xpusim" / "numerics";
  return std::nullopt;
}

std::string reference_model_digest(const std::string& dir) {
  std::error_code ec;
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name == "config.json" || name == "heldout_slice.bin" || name.ends_with(".safetensors"))
      files.push_back(it->path());
  }
  if (ec || files.empty()) return "";
  std::sort(files.begin(), files.end());
  Fnv1a64 h;
  std::vector<char> buf(1 << 20);
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) return "";
    h.field(f.filename().string());
    while (in) {
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      h.add(std::string_view(buf.data(), static_cast<size_t>(in.gcount())));
    }
  }
  return h.hex();
}

fs::path NumericsDiskCache::file_of(const std::string& key) const { return dir_ / (key + ".json"); }

std::optional<PointResult::Numerics> NumericsDiskCache::load(const std::string& key) const {
  const std::string text = read_small(file_of(key));
  if (text.empty()) return std::nullopt;
  try {
    const auto j = nlohmann::json::parse(text);
    if (j.at("key").get<std::string>() != key) return std::nullopt;
    PointResult::Numerics n;
    n.scheme = j.at("scheme").get<std::string>();
    n.datapath = j.at("datapath").get<std::string>();
    n.ok = j.at("ok").get<bool>();
    n.note = j.at("note").get<std::string>();
    n.perplexity = j.at("perplexity").get<double>();
    n.perplexity_delta_pct = j.at("perplexity_delta_pct").get<double>();
    n.logit_rel_err = j.at("logit_rel_err").get<double>();
    n.top1_agreement = j.at("top1_agreement").get<double>();
    return n;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;  // a damaged entry is recomputed
  }
}

void NumericsDiskCache::store(const std::string& key, const PointResult::Numerics& n) const {
  nlohmann::ordered_json j;
  j["key"] = key;
  j["scheme"] = n.scheme;
  j["datapath"] = n.datapath;
  j["ok"] = n.ok;
  j["note"] = n.note;
  j["perplexity"] = n.perplexity;
  j["perplexity_delta_pct"] = n.perplexity_delta_pct;
  j["logit_rel_err"] = n.logit_rel_err;
  j["top1_agreement"] = n.top1_agreement;
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return;
  const fs::path tmp = dir_ / fmt::format(".{}.{}.tmp", key, ::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << j.dump(2) << "\n";
    if (!out.flush()) {
      fs::remove(tmp, ec);
      return;
    }
  }
  fs::rename(tmp, file_of(key), ec);
  if (ec) fs::remove(tmp, ec);
}

}  // namespace xpusim
