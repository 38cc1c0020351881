// The HTTP status that answers an error, from the errno it carries: the manager's errors say what
// went wrong (ENOENT, EEXIST, EBUSY, EINVAL, EFBIG, ENOTSUP) and only the API knows HTTP.
#pragma once

#include "base/error.h"

namespace vessel::manager::api {

// ENOENT 404, EEXIST and EBUSY 409, EINVAL 400, EFBIG 413, ENOTSUP 501; anything else is a 500.
int http_status_for(const Error& error);

}  // namespace vessel::manager::api
