// api_client.h - rapportctl's way to the running daemon's HTTP API.
//
//   Reply r = call(state_dir, http::verb::get, "/api/v1/outcomes");
//   if (r.status != 200) return fail(r);
//   json j = parse_json(r);
//
// The daemon writes <state>/http-address and <state>/api-token; call()
// reads both, so commands need nothing beyond --state DIR. The daemon stays
// the only writer of its state. Shared by held.cc and outcomes.cc.

#pragma once

#include <utility> // before Boost under C++20 with g++ 12
#include <boost/beast/http/verb.hpp>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace rapport::ctl {

// The first line of a small file, trailing blanks removed.
std::optional<std::string> read_line_file(const std::string& path);

struct Reply {
    unsigned status = 0;
    std::string body;
};

// One request to the running daemon; throws std::runtime_error with a sentence.
Reply call(const std::string& state, boost::beast::http::verb verb, const std::string& target);

// The reply as JSON; throws std::runtime_error when it is not.
nlohmann::json parse_json(const Reply& r);

// Prints the daemon's error sentence; returns the exit status (1).
int fail(const Reply& r);

} // namespace rapport::ctl
