#include "manager/api/static_files.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "base/file.h"
#include "manager/api/server.h"

namespace vessel::manager::api {

namespace {

std::string content_type_of(const std::string& name) {
    auto dot = name.rfind('.');
    auto extension = dot == std::string::npos ? std::string() : name.substr(dot + 1);
    if (extension == "html") return "text/html; charset=utf-8";
    if (extension == "js") return "text/javascript; charset=utf-8";
    if (extension == "css") return "text/css; charset=utf-8";
    if (extension == "map" || extension == "json") return "application/json";
    if (extension == "svg") return "image/svg+xml";
    if (extension == "png") return "image/png";
    return "application/octet-stream";
}

bool is_plain_name(const std::string& name) {
    return !name.empty() && name.front() != '.' &&
           name.find_first_not_of(
               "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
               std::string::npos;
}

}  // namespace

http::Response serve_ui_file(const std::string& directory, const std::string& path) {
    std::string name = path == "/ui" || path == "/ui/" ? "index.html" : path.substr(4);
    auto not_found = http::error_response(404, "no such file in the web UI: " + path);
    if (directory.empty() || !path.starts_with("/ui") || !is_plain_name(name)) return not_found;
    auto fd = open_file(directory + "/" + name, O_RDONLY | O_NOFOLLOW);
    if (!fd) return not_found;
    struct stat info {};
    if (::fstat(fd->get(), &info) != 0 || !S_ISREG(info.st_mode)) return not_found;
    auto body = read_fd(fd->get());
    if (!body) return http::error_response(500, body.error().message());
    return http::Response{
        .content_type = content_type_of(name),
        .body = std::move(*body),
        .headers = {{"Content-Security-Policy",
                     "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
                     // xterm.js sizes its rows with a style element it writes.
                     "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"},
                    {"X-Content-Type-Options", "nosniff"},
                    {"Cache-Control", "no-cache"}}};
}

}  // namespace vessel::manager::api
