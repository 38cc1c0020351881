// SHA-256 over data fed in pieces (OpenSSL's libcrypto): the fingerprint of an image that arrives
// inside a backup is computed from what the backup holds, never taken from what it claims.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace vessel::manager {

class ContentDigest {
  public:
    ContentDigest();
    ~ContentDigest();
    ContentDigest(ContentDigest&&) noexcept;
    ContentDigest& operator=(ContentDigest&&) noexcept;

    void add(std::string_view bytes);
    // Lower-case hex. The digest is finished: add() must not be called after.
    std::string hex();

  private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace vessel::manager
