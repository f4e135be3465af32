// The sweep result store: one SQLite file, results keyed by a canonical hash of the fully resolved
// point (every resolved configuration file and the xpusim commit), so a point computed once is
// never computed again, by any sweep writing to the same store. Each finished point is committed
// in its own transaction; a sweep killed at any moment loses at most the points in flight.
//
//   results(key PRIMARY KEY, commit_id, rows)          rows: JSON array, one object per result
//                                                       row (point_to_json without ops)
//   sweep_points(sweep, idx, key, assignments, PRIMARY KEY(sweep, idx))
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace xpusim {

// Where `xpusim sweep` keeps a sweep's store unless told otherwise.
std::string default_sweep_store(const std::string& sweep_name);

class SweepStore {
 public:
  // Opens (creating when missing) the store; throws OutputError when it cannot.
  explicit SweepStore(const std::string& path);
  ~SweepStore();
  SweepStore(const SweepStore&) = delete;
  SweepStore& operator=(const SweepStore&) = delete;

  // The stored rows of a result key, or nullopt.
  std::optional<std::string> result(const std::string& key) const;
  // The point indices of `sweep` already recorded.
  std::vector<long long> done_indices(const std::string& sweep) const;
  // Records a finished point (its result, unless the key is stored already, and its place in
  // the sweep) in one transaction.
  void record(const std::string& sweep, long long index, const std::string& key,
              const std::string& assignments_json, const std::string& rows_json);
  // Links a point to a result already stored (computed by another sweep or an earlier run).
  void link(const std::string& sweep, long long index, const std::string& key,
            const std::string& assignments_json);

  struct Entry {
    long long index;
    std::string key, assignments_json, rows_json;
  };
  // Every recorded point of `sweep`, in index order.
  std::vector<Entry> entries(const std::string& sweep) const;
  std::vector<std::string> sweeps() const;
  // Copies every result and sweep point of `other` that this store lacks (sweep merge).
  size_t merge_from(const std::string& other_path);
  const std::string& path() const { return path_; }

 private:
  void exec(const char* sql) const;
  std::string path_;
  sqlite3* db_ = nullptr;
};

}  // namespace xpusim
