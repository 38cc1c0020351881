#include "base/error.h"

#include <cstring>

namespace vessel {

std::string Error::message() const {
    std::string text;
    for (const auto& layer : chain_) {
        if (!text.empty()) text += ": ";
        text += layer;
    }
    if (errno_value_ != 0) {
        if (!text.empty()) text += ": ";
        text += std::strerror(errno_value_);
    }
    return text;
}

}  // namespace vessel
