// The servers this client knows (`vessel remote ...`), kept in its config directory
// ($VESSEL_CONFIG_DIR, else $XDG_CONFIG_HOME/vessel, else ~/.config/vessel): remotes.json names
// each remote's URL and pinned certificate fingerprint and which one is the default; client.crt
// and client.key are this client's identity, made on first use. "local" is always there: the
// unix socket.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "base/error.h"
#include "manager/tls/certificate.h"

namespace vessel::cli {

struct Remote {
    std::string url;          // https://HOST:PORT
    std::string fingerprint;  // the server certificate's, pinned
};

class Remotes {
  public:
    static constexpr const char* local = "local";

    // A missing file is an empty list with "local" the default.
    static Result<Remotes> load();
    static std::string config_directory();

    Result<> save() const;
    const std::map<std::string, Remote>& all() const { return remotes_; }
    std::optional<Remote> find(const std::string& name) const;
    const std::string& default_remote() const { return default_; }

    // EEXIST for a name in use ("local" included); EINVAL for a name that is not a DNS label.
    Result<> can_add(const std::string& name) const;
    Result<> add(const std::string& name, Remote remote);
    // ENOENT for an unknown name; removing the default makes "local" the default.
    Result<> remove(const std::string& name);
    Result<> set_default(const std::string& name);

    // This client's certificate and key (made on first use).
    static Result<manager::tls::CertificatePair> client_certificate();

  private:
    std::map<std::string, Remote> remotes_;
    std::string default_ = local;
};

// "REMOTE:NAME" -> {REMOTE, NAME}; "REMOTE:" -> {REMOTE, ""}; "NAME" -> {nullopt, NAME}.
// Instance names cannot hold a colon, so one always means a remote.
std::pair<std::optional<std::string>, std::string> split_remote(const std::string& argument);

}  // namespace vessel::cli
