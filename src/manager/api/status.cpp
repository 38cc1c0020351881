#include "manager/api/status.h"

#include <cerrno>

namespace vessel::manager::api {

int http_status_for(const Error& error) {
    switch (error.code()) {
        case ENOENT:
            return 404;
        case EEXIST:
        case EBUSY:
            return 409;
        case EINVAL:
            return 400;
        case EFBIG:
            return 413;
        case ENOTSUP:
            return 501;
        case ENOSPC:
            return 507;
        default:
            return 500;
    }
}

}  // namespace vessel::manager::api
