// Streaming exec over a CRI streaming server's websocket endpoint. containerd 1.6 serves the
// kubelet's remote-command protocol both over SPDY and over websockets; a websocket client is a
// page of code (an HTTP upgrade, then length-prefixed frames), where SPDY would need a framing and
// compression layer of its own. The subprotocol `v4.channel.k8s.io` prefixes every message with
// its stream: 1 stdout, 2 stderr, 3 the exit status as a Kubernetes Status document.
#pragma once

#include <chrono>
#include <string>

#include "base/error.h"

namespace vessel {

// Connects to URL (http://HOST:PORT/exec/TOKEN as containerd's Exec returns it), copies the
// remote command's stdout and stderr to ours, and returns its exit status.
Result<int> websocket_exec(const std::string& url, std::chrono::seconds timeout);

}  // namespace vessel
