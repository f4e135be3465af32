// Escaping for everything a report writes from data (model, hardware and operator names, sweep
// values, file names): HTML/SVG text and attributes, and Markdown table cells.
#pragma once

#include <string>
#include <string_view>

namespace xpusim {

// & < > " ' as entities: safe in HTML and SVG text and in quoted attributes.
std::string html_escape(std::string_view text);
// A Markdown table cell: HTML-escaped (Markdown renders inline HTML), with the characters that
// Markdown gives a meaning (| \ ` * _ [ ] # and line breaks) made literal.
std::string md_escape(std::string_view text);

}  // namespace xpusim
