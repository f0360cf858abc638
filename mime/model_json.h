// model_json.h - mime::Message as JSON and as a readable dump.
//
// Used by `rapportctl inspect FILE.eml [--json]` and by the golden tests
// (tests/data/mime/*.json are to_json() output, pretty-printed). The JSON
// keys are the Message field names; `date` is epoch seconds or null, plus
// `date_utc` (ISO 8601) for people reading it.

#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "mime/message.h"

namespace rapport::mime {

nlohmann::json to_json(const Message& m);

// A few lines per field, for people:
//   Subject: Application
//   From:    Anna Kowalska <anna@example.org>
//   ...
//   Text (from HTML, 312 bytes):
//   | Dear Ms Osei,
std::string describe(const Message& m);

} // namespace rapport::mime
