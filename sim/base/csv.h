// A small CSV reader/writer (RFC 4180 quoting) that keeps the line and column of every field,
// so that bad values are reported as file:line:col.
#pragma once

#include <istream>
#include <ostream>
#include <string>
#include <string_view>
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

// Throws ConfigError for an empty file, text that is not UTF-8, unterminated quotes, rows of the
// wrong width, and header columns without a name or named twice. Accepts what spreadsheets and
// pandas write: a UTF-8 byte-order mark, CRLF line ends, quoted fields holding commas, quotes or
// newlines, blank and all-empty rows (skipped); lines starting with '#' are comments.
CsvTable read_csv(std::string_view text, const std::string& file);
// The same from a stream (standard input) or a file, each bounded by kMaxTableFileBytes; a file
// must be a regular file (`key` names the option that named it, for the error).
CsvTable read_csv(std::istream& in, const std::string& file);
CsvTable read_csv_file(const std::string& path, std::string_view key);
// Quotes a field when it holds a comma, a quote or a newline (RFC 4180).
std::string csv_escape(const std::string& field);
void write_csv_row(std::ostream& out, const std::vector<std::string>& fields);

}  // namespace xpusim
