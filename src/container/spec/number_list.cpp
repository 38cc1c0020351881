#include "container/spec/number_list.h"

#include <charconv>

namespace vessel::container::spec {

namespace {

bool parse_whole(std::string_view text, unsigned& value) {
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    return !text.empty() && error == std::errc() && end == text.data() + text.size();
}

}  // namespace

Result<std::vector<std::pair<unsigned, unsigned>>> parse_number_list(std::string_view list,
                                                                     unsigned limit) {
    std::vector<std::pair<unsigned, unsigned>> ranges;
    if (list.empty()) return fail("must not be empty");
    while (!list.empty()) {
        std::string_view item = list.substr(0, list.find(','));
        list.remove_prefix(std::min(list.size(), item.size() + 1));
        size_t dash = item.find('-');
        unsigned first = 0, last = 0;
        bool ok = parse_whole(item.substr(0, dash), first);
        last = first;
        if (ok && dash != std::string_view::npos) ok = parse_whole(item.substr(dash + 1), last);
        if (!ok || first > last) return fail("malformed");
        if (last >= limit) return fail("{} is beyond {}", last, limit);
        ranges.emplace_back(first, last);
    }
    return ranges;
}

}  // namespace vessel::container::spec
