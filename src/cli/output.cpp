#include "cli/output.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace vessel::cli {

void print_table(const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows) {
    std::vector<size_t> widths;
    for (const auto& h : header)
        widths.push_back(h.size());
    for (const auto& row : rows)
        for (size_t i = 0; i < row.size(); ++i)
            widths[i] = std::max(widths[i], row[i].size());
    auto line = [&](const std::vector<std::string>& cells) {
        std::string out;
        for (size_t i = 0; i < cells.size(); ++i) {
            out += cells[i];
            if (i + 1 < cells.size()) out += std::string(widths[i] - cells[i].size() + 2, ' ');
        }
        std::puts(out.c_str());
    };
    line(header);
    for (const auto& row : rows)
        line(row);
}

namespace {

// A CSV field: quoted when it holds a comma, a quote or a line break, quotes doubled.
std::string csv_field(const std::string& value) {
    if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
    std::string quoted = "\"";
    for (char c : value) {
        if (c == '"') quoted += '"';
        quoted += c;
    }
    return quoted + "\"";
}

// YAML 1.1 and 1.2 readers take these plain scalars as booleans, nulls or numbers; the string
// must come back a string. yaml-cpp 0.7 quotes only for its own syntax, so the rest is here.
bool reads_as_another_type(const std::string& text) {
    if (text.empty()) return true;
    std::string lower;
    for (char c : text)
        lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (std::string_view word : {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~",
                                  ".inf", "-.inf", "+.inf", ".nan"})
        if (lower == word) return true;
    char* end = nullptr;
    (void)std::strtod(text.c_str(), &end);
    return end == text.c_str() + text.size() || lower.starts_with("0x") || lower.starts_with("0o");
}

void emit(YAML::Emitter& out, const Json& value) {
    if (value.is_object()) {
        out << YAML::BeginMap;
        for (const auto& [key, item] : value.items()) {
            out << YAML::Key << key << YAML::Value;
            emit(out, item);
        }
        out << YAML::EndMap;
    } else if (value.is_array()) {
        out << YAML::BeginSeq;
        for (const auto& item : value)
            emit(out, item);
        out << YAML::EndSeq;
    } else if (value.is_string()) {
        const auto& text = value.get_ref<const std::string&>();
        if (reads_as_another_type(text))
            out << YAML::DoubleQuoted << text;
        else
            out << text;
    } else if (value.is_boolean()) {
        out << value.get<bool>();
    } else if (value.is_number_unsigned()) {
        out << value.get<uint64_t>();
    } else if (value.is_number_integer()) {
        out << value.get<int64_t>();
    } else if (value.is_number_float()) {
        out << value.get<double>();
    } else {
        out << YAML::Null;
    }
}

}  // namespace

std::optional<Format> format_named(std::string_view name) {
    if (name == "table") return Format::table;
    if (name == "json") return Format::json;
    if (name == "yaml") return Format::yaml;
    if (name == "csv") return Format::csv;
    return std::nullopt;
}

std::string csv_text(const std::vector<std::string>& header,
                     const std::vector<std::vector<std::string>>& rows) {
    std::string text;
    auto line = [&](const std::vector<std::string>& cells) {
        for (size_t i = 0; i < cells.size(); ++i)
            text += (i > 0 ? "," : "") + csv_field(cells[i]);
        text += "\r\n";
    };
    line(header);
    for (const auto& row : rows)
        line(row);
    return text;
}

std::string yaml_text(const Json& value) {
    YAML::Emitter out;
    emit(out, value);
    return std::string(out.c_str()) + "\n";
}

void print_listing(Format format, const std::vector<std::string>& header,
                   const std::vector<std::vector<std::string>>& rows, const Json& objects) {
    switch (format) {
        case Format::table:
            print_table(header, rows);
            return;
        case Format::csv:
            std::fputs(csv_text(header, rows).c_str(), stdout);
            return;
        case Format::json:
            std::puts(objects.dump(2).c_str());
            return;
        case Format::yaml:
            std::fputs(yaml_text(objects).c_str(), stdout);
            return;
    }
}

std::string upper(std::string text) {
    for (auto& c : text)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return text;
}

}  // namespace vessel::cli
