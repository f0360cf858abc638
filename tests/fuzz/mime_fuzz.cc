// mime_fuzz.cc - libFuzzer entry point for mime::parse() and the delivery
// status reader (dsn.h), which reads bounces fetched from the user's inbox.
//
// The parser sees untrusted bytes from the network: it must never crash,
// hang, leak, or hand out invalid UTF-8 (to_json().dump() throws on invalid
// UTF-8, so that is checked for free). Odd-sized inputs also run with tiny
// limits so the limit paths get exercised.
//   scripts/fuzz.sh 300

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "mime/dsn.h"
#include "mime/message.h"
#include "mime/model_json.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view raw(reinterpret_cast<const char*>(data), size);
    rapport::mime::Limits limits;
    if (size % 2) {
        limits.max_depth = 3;
        limits.max_parts = 8;
        limits.max_text_bytes = 64;
    }
    rapport::mime::Message m = rapport::mime::parse(raw, limits);
    (void)rapport::mime::to_json(m).dump();
    (void)rapport::mime::describe(m);
    // The report a message carries, and the raw bytes taken as a status part.
    for (std::string_view status : {std::string_view(m.delivery_status), raw}) {
        rapport::mime::DeliveryStatus ds = rapport::mime::parse_delivery_status(status);
        for (const auto& r : ds.recipients) (void)r.failed();
    }
    for (const auto& a : m.recipients()) {
        (void)a.local_part();
        (void)a.domain();
    }
    return 0;
}
