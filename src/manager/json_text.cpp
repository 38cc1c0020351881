#include "manager/json_text.h"

namespace vessel::manager {

namespace {

// The JSON path of the first string (or object key) that is not valid UTF-8; nullopt when all are.
std::optional<std::string> first_invalid_string(const Json& value, const std::string& path) {
    if (value.is_string()) {
        if (!is_valid_utf8(value.get_ref<const std::string&>())) return path;
        return std::nullopt;
    }
    if (value.is_array()) {
        for (size_t i = 0; i < value.size(); ++i)
            if (auto bad = first_invalid_string(value[i], json_path(path, i))) return bad;
        return std::nullopt;
    }
    if (value.is_object()) {
        for (const auto& [key, item] : value.items()) {
            if (!is_valid_utf8(key)) return path.empty() ? std::string("a key") : path + ": a key";
            if (auto bad = first_invalid_string(item, json_path(path, key))) return bad;
        }
    }
    return std::nullopt;
}

}  // namespace

std::string dump_json(const Json& value, int indent) {
    return value.dump(indent, ' ', false, Json::error_handler_t::replace);
}

Result<std::string> dump_json_exact(const Json& value, std::string_view source, int indent) {
    if (auto bad = first_invalid_string(value, "")) {
        if (bad->empty()) return fail("{}: not valid UTF-8", source);
        return fail("{}: {}: not valid UTF-8", source, *bad);
    }
    return value.dump(indent);
}

bool is_valid_utf8(std::string_view text) {
    size_t i = 0;
    while (i < text.size()) {
        auto byte = static_cast<unsigned char>(text[i]);
        size_t length;
        uint32_t code;
        if (byte < 0x80) {
            ++i;
            continue;
        } else if ((byte & 0xe0) == 0xc0) {
            length = 2;
            code = byte & 0x1f;
        } else if ((byte & 0xf0) == 0xe0) {
            length = 3;
            code = byte & 0x0f;
        } else if ((byte & 0xf8) == 0xf0) {
            length = 4;
            code = byte & 0x07;
        } else {
            return false;
        }
        if (i + length > text.size()) return false;
        for (size_t k = 1; k < length; ++k) {
            auto next = static_cast<unsigned char>(text[i + k]);
            if ((next & 0xc0) != 0x80) return false;
            code = (code << 6) | (next & 0x3f);
        }
        // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8.
        static constexpr uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
        if (code < smallest[length] || (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff)
            return false;
        i += length;
    }
    return true;
}

}  // namespace vessel::manager
