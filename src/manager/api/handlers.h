// The REST API of vesseld (docs/rest-api.md): routes onto the Manager.
#pragma once

#include "manager/api/router.h"
#include "manager/manager.h"

namespace vessel::manager {

http::Router make_api_router(Manager& manager);

}  // namespace vessel::manager
