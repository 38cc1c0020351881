// The CLI's own reading of its arguments: path segments for URLs, key=value pairs, NAME/PATH,
// modes, and whose config a `config` command names.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "base/error.h"
#include "base/json.h"

namespace vessel::cli {

// Percent-encodes everything but RFC 3986's unreserved characters: a name as one path segment.
std::string encode(const std::string& text);
// key=value... as a JSON object of strings.
Result<Json> parse_config_pairs(const std::vector<std::string>& pairs);
// "NAME/PATH" of vessel file: the instance and the absolute path in it.
Result<std::pair<std::string, std::string>> split_instance_path(const std::string& target);
// An octal mode such as 0644.
Result<mode_t> parse_mode(const std::string& text);

// Whose config a `config set|get|unset` names, with Incus's rule: the server's when the first word
// is KEY=VALUE, or for `set KEY VALUE`, `get KEY`, `unset KEY` (a REMOTE: prefix taken off
// already leaves an empty first word); else the first word is the instance. `words` are the
// KEY=VALUE pairs of a set (KEY VALUE joined), or the KEY of a get or unset.
struct ConfigTarget {
    std::string instance;
    std::vector<std::string> words;
};
Result<ConfigTarget> config_target(std::vector<std::string> args, bool setting);

}  // namespace vessel::cli
