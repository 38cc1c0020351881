// The web UI's files (/ui/), served from one flat directory: a name is letters, digits, '.', '-'
// and '_' only, so no request reaches outside it, and no link inside it is followed.
#pragma once

#include <string>

#include "manager/api/http.h"

namespace vessel::manager::api {

// `path` is the request's path: "/ui" and "/ui/" are index.html. 404 for anything else that is not
// a regular file there. Every answer carries a content security policy that allows the page's
// own scripts and styles and connections to its own origin only.
http::Response serve_ui_file(const std::string& directory, const std::string& path);

}  // namespace vessel::manager::api
