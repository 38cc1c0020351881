// What the CLI prints: a listing as an aligned table, CSV (RFC 4180), or the API's own objects as
// JSON or YAML (`--format`), and upper-cased state words.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.h"

namespace vessel::cli {

enum class Format { table, json, yaml, csv };

// The --format values, for CLI11's IsMember check.
inline const std::vector<std::string> format_names = {"table", "json", "yaml", "csv"};
std::optional<Format> format_named(std::string_view name);

void print_table(const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows);

// Table and CSV show `rows` under `header`; JSON and YAML show `objects`, what the API answered,
// whole.
void print_listing(Format format, const std::vector<std::string>& header,
                   const std::vector<std::vector<std::string>>& rows, const Json& objects);

std::string csv_text(const std::vector<std::string>& header,
                     const std::vector<std::vector<std::string>>& rows);
std::string yaml_text(const Json& value);

std::string upper(std::string text);

}  // namespace vessel::cli
