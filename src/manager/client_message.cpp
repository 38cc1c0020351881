#include "manager/client_message.h"

#include <cstring>

namespace vessel::manager {

std::string client_message(const Error& error) {
    auto message = error.message();
    if (error.code() != 0) {
        auto suffix = std::string(": ") + std::strerror(error.code());
        if (message.ends_with(suffix)) message.resize(message.size() - suffix.size());
    }
    return message;
}

}  // namespace vessel::manager
