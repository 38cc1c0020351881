// Base64 (RFC 4648, with padding): how exec's standard streams travel inside JSON, which can only
// hold text, so that any bytes survive the trip.
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"

namespace vessel::manager {

std::string base64_encode(std::string_view bytes);
// Refuses characters outside the alphabet, bad padding and a length that is not a multiple of 4.
Result<std::string> base64_decode(std::string_view text);

}  // namespace vessel::manager
