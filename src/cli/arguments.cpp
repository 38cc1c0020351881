#include "cli/arguments.h"

#include <cctype>
#include <charconv>

namespace vessel::cli {

std::string encode(const std::string& text) {
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
            out += static_cast<char>(c);
        else
            out += fmt::format("%{:02X}", c);
    }
    return out;
}

Result<Json> parse_config_pairs(const std::vector<std::string>& pairs) {
    Json config = Json::object();
    for (const auto& pair : pairs) {
        auto eq = pair.find('=');
        if (eq == std::string::npos || eq == 0)
            return fail("{}: config must be given as key=value", pair);
        config[pair.substr(0, eq)] = pair.substr(eq + 1);
    }
    return config;
}

Result<std::pair<std::string, std::string>> split_instance_path(const std::string& target) {
    auto slash = target.find('/');
    if (slash == 0 || slash == std::string::npos || slash + 1 == target.size())
        return fail("'{}': expected NAME/PATH (the instance, then the path in it)", target);
    return std::pair{target.substr(0, slash), target.substr(slash)};
}

Result<mode_t> parse_mode(const std::string& text) {
    mode_t mode = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), mode, 8);
    if (error != std::errc() || end != text.data() + text.size() || mode > 07777)
        return fail("--mode {}: expected an octal mode such as 0644", text);
    return mode;
}

Result<ConfigTarget> config_target(std::vector<std::string> args, bool setting) {
    ConfigTarget target;
    bool server = args.empty() || args[0].empty() || args[0].find('=') != std::string::npos ||
                  (args.size() == 1 && !setting) ||
                  (setting && args.size() == 2 && args[1].find('=') == std::string::npos);
    if (!server || (!args.empty() && args[0].empty())) {
        if (!server) target.instance = args[0];
        args.erase(args.begin());
    }
    if (setting && args.size() == 2 && args[0].find('=') == std::string::npos &&
        args[1].find('=') == std::string::npos)
        args = {args[0] + "=" + args[1]};
    if (args.empty()) return fail_errno(EINVAL, "config: no key given");
    if (!setting && args.size() != 1) return fail_errno(EINVAL, "config: give one key");
    target.words = std::move(args);
    return target;
}

}  // namespace vessel::cli
