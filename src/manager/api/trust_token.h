// The text of a trust token, as `vessel config trust add` prints it and `vessel remote add` reads
// it: base64 of a JSON object with the client's name, the server's certificate fingerprint (which
// the client pins), the server's addresses, the secret and its expiry. Only the secret is
// checked by the server; the rest tells the client whom it is talking to.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace vessel::manager::api {

struct TrustTokenText {
    std::string name;
    std::string fingerprint;
    std::vector<std::string> addresses;
    std::string secret;
    int64_t expires_at = 0;
};

std::string encode_trust_token(const TrustTokenText& token);
// EINVAL for text that is not such a token.
Result<TrustTokenText> decode_trust_token(std::string_view text);

}  // namespace vessel::manager::api
