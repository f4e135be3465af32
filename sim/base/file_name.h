// Names that become file or folder names (an experiment's output folder, resolved/hw-NAME.yaml):
// the rule they must follow, so that no name can reach a path outside the output folder.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace xpusim {

// What a name may be, as error messages state it.
inline constexpr std::string_view kFileNameRule =
    "a name of 1 to 128 bytes without '/', '\\', '..' or control characters, not starting with "
    "'.'";

// Why `name` cannot be used as a file name, or nullopt when it can.
std::optional<std::string> file_name_problem(std::string_view name);

// A usable file name for `name`, which need not follow the rule (a hardware file named by its
// path and without a `name:`): the last path component without its extension, with characters
// the rule forbids replaced by '_'; `fallback` when nothing usable is left.
std::string safe_file_name(std::string_view name, std::string_view fallback);

}  // namespace xpusim
