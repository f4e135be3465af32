// CSV parsing with positions.
#include "sim/base/csv.h"

#include <fmt/format.h>


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

CsvTable read_csv(std::istream& in, const std::string& file) {
  CsvTable t;
  t.file = file;
  std::string line;
  int line_no = 0;
  ErrorList errors;
  bool have_header = false;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    CsvRow row;
    row.line = line_no;
    size_t i = 0;
    bool bad = false;
    while (true) {
      CsvField f;
      f.col = static_cast<int>(i) + 1;
      if (i < line.size() && line[i] == '"') {
        ++i;
        while (true) {
          if (i >= line.size()) {
            errors.add({file, line_no, f.col}, "", "unterminated quoted field");
            bad = true;
            break;
          }
          if (line[i] == '"') {
            if (i + 1 < line.size() && line[i + 1] == '"') {
              f.text += '"';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          f.text += line[i++];
        }
        if (bad) break;
      } else {
        size_t comma = line.find(',', i);
        f.text = line.substr(i, comma == std::string::npos ? std::string::npos : comma - i);
        i = comma == std::string::npos ? line.size() : comma;
      }
      // Spaces around values are a common hand-edit; they are not part of the value.
      while (!f.text.empty() && f.text.back() == ' ') f.text.pop_back();
      while (!f.text.empty() && f.text.front() == ' ') f.text.erase(0, 1);
      row.fields.push_back(std::move(f));
      if (i >= line.size()) break;
      if (line[i] != ',') {
        errors.add({file, line_no, static_cast<int>(i) + 1}, "",
                   "expected ',' after a quoted field");
        bad = true;
        break;
      }
      ++i;
    }
    if (bad) continue;
    if (!have_header) {
      for (auto& f : row.fields) t.header.push_back(f.text);
      have_header = true;
      continue;
    }
    if (row.fields.size() != t.header.size()) {
      errors.add({file, line_no, 1}, "",
                 fmt::format("row has {} fields but the header has {}", row.fields.size(),
                             t.header.size()));
      continue;
    }
    t.rows.push_back(std::move(row));
  }
  if (!have_header) errors.add({file, 0, 0}, "", "the CSV file is empty: it needs a header row");
  errors.throw_if_any();
  return t;
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
