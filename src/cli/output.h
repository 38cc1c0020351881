// What the CLI prints: aligned tables and upper-cased state words.
#pragma once

#include <string>
#include <vector>

namespace vessel::cli {

void print_table(const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows);

std::string upper(std::string text);

}  // namespace vessel::cli
