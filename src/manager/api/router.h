// Maps (method, path pattern) to handlers. Patterns are literal segments and {param} segments:
// "/1.0/instances/{name}/state".
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "manager/api/http.h"

namespace vessel::manager::http {

using Params = std::map<std::string, std::string>;
using RouteHandler = std::function<Response(const Request&, const Params&)>;

class Router {
  public:
    void add(std::string method, const std::string& pattern, RouteHandler handler);
    // 404 for an unknown path, 405 (naming the allowed methods) for a known path and wrong method.
    Response dispatch(const Request& request) const;

  private:
    struct Route {
        std::string method;
        std::string pattern;
        std::vector<std::string> segments;
        RouteHandler handler;
    };
    std::vector<Route> routes_;
};

std::vector<std::string> split_path(const std::string& path);

}  // namespace vessel::manager::http
