// web_assets.h - the held-mail page's files (daemon/web/*), compiled into the
// binary by daemon/web/embed_web.cmake so the daemon serves them without
// any install step.
//
//   web_asset("index.html") -> the file's bytes; empty when there is none.

#pragma once

#include <string_view>

namespace rapport::daemon {

std::string_view web_asset(std::string_view name);

} // namespace rapport::daemon
