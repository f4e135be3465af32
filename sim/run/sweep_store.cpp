#include "sim/run/sweep_store.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "sim/base/errors.h"
#include "sim/base/version.h"

namespace xpusim {

std::string default_sweep_store(const std::string& sweep_name) {
  return "xpusim-out/sweeps/" + sweep_name + ".sqlite";
}

namespace {

// A prepared statement that finalises itself.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql, const std::string& path) {
    if (sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) != SQLITE_OK)
      throw OutputError(path, sqlite3_errmsg(db));
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt& bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), int(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, long long v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  bool step() { return sqlite3_step(s_) == SQLITE_ROW; }
  int step_rc() { return sqlite3_step(s_); }
  std::string text(int col) const {
    const auto* t = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
    return t ? std::string(t, size_t(sqlite3_column_bytes(s_, col))) : "";
  }
  long long integer(int col) const { return sqlite3_column_int64(s_, col); }

 private:
  sqlite3_stmt* s_ = nullptr;
};

}  // namespace

SweepStore::SweepStore(const std::string& path) : path_(path) {
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
    const std::string why = db_ ? sqlite3_errmsg(db_) : "cannot open";
    sqlite3_close(db_);
    db_ = nullptr;
    throw OutputError(path, why);
  }
  sqlite3_busy_timeout(db_, 10000);
  // WAL: a committed point survives a SIGKILL of the writer; NORMAL sync is enough for that.
  // Two processes that open a new store at once (two sweeps sharing it, or a reader of a sweep
  // that is starting) race for the switch to WAL and the tables; SQLite answers the loser "database
  // is locked" at once, without its busy handler, so the setup is retried for the busy timeout.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    char* err = nullptr;
    const int rc = sqlite3_exec(
        db_,
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
        "CREATE TABLE IF NOT EXISTS results(key TEXT PRIMARY KEY, commit_id TEXT NOT NULL, rows "
        "TEXT NOT NULL); "
        "CREATE TABLE IF NOT EXISTS sweep_points(sweep TEXT NOT NULL, idx INTEGER NOT NULL, key "
        "TEXT NOT NULL, assignments TEXT NOT NULL, PRIMARY KEY(sweep, idx))",
        nullptr, nullptr, &err);
    const std::string why = err ? err : "error";
    sqlite3_free(err);
    if (rc == SQLITE_OK) break;
    if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || std::chrono::steady_clock::now() > give_up) {
      sqlite3_close(db_);
      db_ = nullptr;
      throw OutputError(path, why);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

SweepStore::~SweepStore() { sqlite3_close(db_); }

void SweepStore::exec(const char* sql) const {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string why = err ? err : "error";
    sqlite3_free(err);
    throw OutputError(path_, why);
  }
}

std::optional<std::string> SweepStore::result(const std::string& key) const {
  Stmt s(db_, "SELECT rows FROM results WHERE key = ?1", path_);
  s.bind(1, key);
  if (!s.step()) return std::nullopt;
  return s.text(0);
}

std::vector<long long> SweepStore::done_indices(const std::string& sweep) const {
  Stmt s(db_, "SELECT idx FROM sweep_points WHERE sweep = ?1 ORDER BY idx", path_);
  s.bind(1, sweep);
  std::vector<long long> out;
  while (s.step()) out.push_back(s.integer(0));
  return out;
}

void SweepStore::record(const std::string& sweep, long long index, const std::string& key,
                        const std::string& assignments_json, const std::string& rows_json) {
  exec("BEGIN IMMEDIATE");
  try {
    {
      Stmt s(db_, "INSERT OR IGNORE INTO results(key, commit_id, rows) VALUES(?1, ?2, ?3)", path_);
      s.bind(1, key).bind(2, std::string(git_commit())).bind(3, rows_json);
      if (s.step_rc() != SQLITE_DONE) throw OutputError(path_, sqlite3_errmsg(db_));
    }
    {
      Stmt s(db_,
             "INSERT OR REPLACE INTO sweep_points(sweep, idx, key, assignments) "
             "VALUES(?1, ?2, ?3, ?4)",
             path_);
      s.bind(1, sweep).bind(2, index).bind(3, key).bind(4, assignments_json);
      if (s.step_rc() != SQLITE_DONE) throw OutputError(path_, sqlite3_errmsg(db_));
    }
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

void SweepStore::link(const std::string& sweep, long long index, const std::string& key,
                      const std::string& assignments_json) {
  Stmt s(db_,
         "INSERT OR REPLACE INTO sweep_points(sweep, idx, key, assignments) VALUES(?1, ?2, ?3, ?4)",
         path_);
  s.bind(1, sweep).bind(2, index).bind(3, key).bind(4, assignments_json);
  if (s.step_rc() != SQLITE_DONE) throw OutputError(path_, sqlite3_errmsg(db_));
}

std::vector<SweepStore::Entry> SweepStore::entries(const std::string& sweep) const {
  Stmt s(db_,
         "SELECT p.idx, p.key, p.assignments, r.rows FROM sweep_points p JOIN results r ON "
         "r.key = p.key WHERE p.sweep = ?1 ORDER BY p.idx",
         path_);
  s.bind(1, sweep);
  std::vector<Entry> out;
  while (s.step()) out.push_back({s.integer(0), s.text(1), s.text(2), s.text(3)});
  return out;
}

std::vector<std::string> SweepStore::sweeps() const {
  Stmt s(db_, "SELECT DISTINCT sweep FROM sweep_points ORDER BY sweep", path_);
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.text(0));
  return out;
}

size_t SweepStore::merge_from(const std::string& other_path) {
  if (!std::filesystem::is_regular_file(other_path))
    throw ConfigError(SourceLoc{other_path, 0, 0}, "", "not a sweep store (no such file)");
  {
    Stmt s(db_, "ATTACH DATABASE ?1 AS other", path_);
    s.bind(1, other_path);
    if (s.step_rc() != SQLITE_DONE) throw OutputError(path_, sqlite3_errmsg(db_));
  }
  size_t added = 0;
  try {
    exec("BEGIN IMMEDIATE");
    exec("INSERT OR IGNORE INTO results SELECT key, commit_id, rows FROM other.results");
    const int before = sqlite3_total_changes(db_);
    exec(
        "INSERT OR IGNORE INTO sweep_points SELECT sweep, idx, key, assignments FROM "
        "other.sweep_points");
    added = size_t(sqlite3_total_changes(db_) - before);
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_exec(db_, "DETACH DATABASE other", nullptr, nullptr, nullptr);
    throw;
  }
  exec("DETACH DATABASE other");
  return added;
}

}  // namespace xpusim
