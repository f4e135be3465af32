// A small CSV reader/writer (RFC 4180 quoting) that keeps the line and column of every field,
// so that bad values are reported as file:line:col.
#pragma once

#include <istream>
#include <ostream>
#include <string>
#include <vector>

#include "sim/base/errors.h"

namespace xpusim {

struct CsvField {
  std::string text;
  int col = 0;  // 1-based character column where the field starts
};

struct CsvRow {
  int line = 0;
  std::vector<CsvField> fields;
};

struct CsvTable {
  std::string file;
  std::vector<std::string> header;
  std::vector<CsvRow> rows;
  int column(std::string_view name) const;  // index in header, -1 when absent
  SourceLoc loc(const CsvRow& row, int index) const;
};

// Throws ConfigError for an empty file, unterminated quotes or rows of the wrong width.
CsvTable read_csv(std::istream& in, const std::string& file);
// Quotes a field when it holds a comma, a quote or a newline (RFC 4180).
std::string csv_escape(const std::string& field);
void write_csv_row(std::ostream& out, const std::vector<std::string>& fields);

}  // namespace xpusim
