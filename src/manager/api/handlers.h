// The REST API of vesseld (docs/rest-api.md): routes onto the Manager.
#pragma once

#include "manager/api/request_metrics.h"
#include "manager/api/router.h"
#include "manager/api/server.h"
#include "manager/manager.h"

namespace vessel::manager {

// `requests`: what the listeners recorded of their answers, for GET /1.0/metrics.
http::Router make_api_router(Manager& manager, const api::RequestMetrics& requests);

// What both listeners serve: the router behind the trust check (a client over HTTPS whose
// certificate is not trusted gets 403 on everything but GET /1.0 and a token's redemption), each
// answer recorded in `requests`; GET /ui/... are the web UI's files from `ui_directory` (none when
// empty). The router must outlive the handler.
http::Handler make_api_handler(const http::Router& router, Manager& manager,
                               api::RequestMetrics& requests, std::string ui_directory = {});

}  // namespace vessel::manager
