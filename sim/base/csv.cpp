// CSV parsing with positions.
#include "sim/base/csv.h"

#include <fmt/format.h>

#include <algorithm>

#include "sim/base/file_read.h"

namespace xpusim {

int CsvTable::column(std::string_view name) const {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return static_cast<int>(i);
  return -1;
}

SourceLoc CsvTable::loc(const CsvRow& row, int index) const {
  int col = index >= 0 && index < static_cast<int>(row.fields.size()) ? row.fields[index].col : 1;
  return {file, row.line, col};
}

CsvTable read_csv(std::string_view text, const std::string& file) {
  check_utf8(text, file, "");
  // Spreadsheets ("CSV UTF-8") start with a byte-order mark.
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  CsvTable t;
  t.file = file;
  ErrorList errors;
  bool have_header = false;
  size_t i = 0;
  int line_no = 1, col = 1;  // of text[i]
  auto advance = [&] {
    if (text[i] == '\n') {
      ++line_no;
      col = 1;
    } else {
      ++col;
    }
    ++i;
  };
  while (i < text.size()) {
    // One record: fields up to an unquoted newline (quoted fields may hold newlines, as
    // spreadsheets and pandas write them).
    CsvRow row;
    row.line = line_no;
    bool bad = false, comment = text[i] == '#';
    while (true) {
      CsvField f;
      f.col = col;
      bool quoted = false;
      while (i < text.size() && text[i] == ' ') advance();
      if (i < text.size() && text[i] == '"') {
        quoted = true;
        const SourceLoc start{file, line_no, col};
        advance();
        while (true) {
          if (i >= text.size()) {
            errors.add(start, "", "unterminated quoted field");
            bad = true;
            break;
          }
          if (text[i] == '"') {
            if (i + 1 < text.size() && text[i + 1] == '"') {
              f.text += '"';
              advance();
              advance();
              continue;
            }
            advance();
            break;
          }
          f.text += text[i];
          advance();
        }
        if (bad) break;
        while (i < text.size() && (text[i] == ' ' || text[i] == '\r')) advance();
      } else {
        while (i < text.size() && text[i] != ',' && text[i] != '\n') {
          f.text += text[i];
          advance();
        }
        if (!f.text.empty() && f.text.back() == '\r') f.text.pop_back();
        // Spaces around values are a common hand-edit; they are not part of the value.
        while (!f.text.empty() && f.text.back() == ' ') f.text.pop_back();
      }
      (void)quoted;
      row.fields.push_back(std::move(f));
      if (i >= text.size() || text[i] == '\n') break;
      if (text[i] != ',') {
        errors.add({file, line_no, col}, "", "expected ',' after a quoted field");
        bad = true;
        break;
      }
      advance();
    }
    // Skip to the end of the record (after a bad field, the rest of its line).
    while (i < text.size() && text[i] != '\n') advance();
    if (i < text.size()) advance();
    if (bad || comment) continue;
    // Blank lines, and the all-empty rows spreadsheets write for them, carry nothing.
    if (std::all_of(row.fields.begin(), row.fields.end(),
                    [](const CsvField& f) { return f.text.empty(); }))
      continue;
    if (!have_header) {
      for (auto& f : row.fields) t.header.push_back(f.text);
      have_header = true;
      continue;
    }
    if (row.fields.size() != t.header.size()) {
      errors.add({file, row.line, 1}, "",
                 fmt::format("row has {} fields but the header has {}", row.fields.size(),
                             t.header.size()));
      continue;
    }
    t.rows.push_back(std::move(row));
  }
  if (!have_header) errors.add({file, 0, 0}, "", "the CSV file is empty: it needs a header row");
  // A column without a name (pandas writes its index as one) or named twice would be ignored or
  // ambiguous.
  for (size_t c = 0; c < t.header.size(); ++c) {
    if (t.header[c].empty())
      errors.add({file, 1, 0}, "",
                 fmt::format("column {} has no name (to write a table from pandas without its "
                             "index, use to_csv(..., index=False))",
                             c + 1));
    for (size_t d = 0; d < c; ++d)
      if (!t.header[c].empty() && t.header[d] == t.header[c])
        errors.add({file, 1, 0}, "",
                   fmt::format("column '{}' appears twice (columns {} and {})", t.header[c], d + 1,
                               c + 1));
  }
  errors.throw_if_any();
  return t;
}

CsvTable read_csv(std::istream& in, const std::string& file) {
  return read_csv(read_stream_bounded(in, file, "", kMaxTableFileBytes), file);
}

CsvTable read_csv_file(const std::string& path, std::string_view key) {
  return read_csv(read_file_bounded(path, key, kMaxTableFileBytes), path);
}

std::string csv_escape(const std::string& field) {
  if (field.find_first_of(",\"\n") == std::string::npos) return field;
  std::string out = "\"";
  for (char c : field) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

void write_csv_row(std::ostream& out, const std::vector<std::string>& fields) {
  for (size_t i = 0; i < fields.size(); ++i) out << (i ? "," : "") << csv_escape(fields[i]);
  out << "\n";
}

}  // namespace xpusim
