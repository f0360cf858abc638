// model_json.cc - see model_json.h.

#include "mime/model_json.h"

#include <ctime>
#include <sstream>

namespace rapport::mime {

namespace {

nlohmann::json addresses(const std::vector<Address>& list) {
    auto a = nlohmann::json::array();
    for (const auto& x : list) a.push_back({{"name", x.name}, {"address", x.address}});
    return a;
}

std::string iso_utc(std::int64_t t) {
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    if (!gmtime_r(&tt, &tm)) return {};
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string format_addresses(const std::vector<Address>& list) {
    std::string s;
    for (const auto& a : list) {
        if (!s.empty()) s += ", ";
        if (a.name.empty()) s += a.address;
        else s += a.name + " <" + a.address + ">";
    }
    return s;
}

} // namespace

nlohmann::json to_json(const Message& m) {
    nlohmann::json j;
    j["subject"] = m.subject;
    j["from"] = addresses(m.from);
    j["to"] = addresses(m.to);
    j["cc"] = addresses(m.cc);
    j["bcc"] = addresses(m.bcc);
    j["reply_to"] = addresses(m.reply_to);
    if (m.date) {
        j["date"] = *m.date;
        j["date_utc"] = iso_utc(*m.date);
    } else {
        j["date"] = nullptr;
    }
    j["message_id"] = m.message_id;
    j["in_reply_to"] = m.in_reply_to;
    j["references"] = m.references;
    auto headers = nlohmann::json::array();
    for (const auto& [n, v] : m.headers) headers.push_back({n, v});
    j["headers"] = headers;
    j["text"] = m.text;
    j["text_from_html"] = m.text_from_html;
    auto atts = nlohmann::json::array();
    for (const auto& a : m.attachments)
        atts.push_back({{"filename", a.filename},
                        {"declared_type", a.declared_type},
                        {"sniffed_type", a.sniffed_type},
                        {"size", a.size},
                        {"inline", a.is_inline},
                        {"content_id", a.content_id},
                        {"in_forwarded", a.in_forwarded}});
    j["attachments"] = atts;
    auto fwd = nlohmann::json::array();
    for (const auto& f : m.forwarded)
        fwd.push_back({{"subject", f.subject}, {"from", addresses(f.from)}, {"text", f.text}});
    j["forwarded"] = fwd;
    // Only delivery reports have these; other models stay as they were.
    if (!m.delivery_status.empty()) j["delivery_status"] = m.delivery_status;
    if (!m.returned_headers.empty()) j["returned_headers"] = m.returned_headers;
    j["problems"] = m.problems;
    return j;
}

std::string describe(const Message& m) {
    std::ostringstream o;
    o << "Subject:  " << m.subject << "\n";
    o << "From:     " << format_addresses(m.from) << "\n";
    if (!m.to.empty()) o << "To:       " << format_addresses(m.to) << "\n";
    if (!m.cc.empty()) o << "Cc:       " << format_addresses(m.cc) << "\n";
    if (!m.bcc.empty()) o << "Bcc:      " << format_addresses(m.bcc) << "\n";
    if (!m.reply_to.empty()) o << "Reply-To: " << format_addresses(m.reply_to) << "\n";
    o << "Date:     " << (m.date ? iso_utc(*m.date) : std::string("(none)")) << "\n";
    if (!m.message_id.empty()) o << "Message-ID:  " << m.message_id << "\n";
    if (!m.in_reply_to.empty()) o << "In-Reply-To: " << m.in_reply_to << "\n";
    if (!m.references.empty()) o << "References:  " << m.references.size() << " id(s)\n";
    o << "\nText" << (m.text_from_html ? " (from HTML" : " (") << (m.text_from_html ? ", " : "") << m.text.size()
      << " bytes):\n";
    std::size_t pos = 0;
    while (pos < m.text.size()) {
        auto e = m.text.find('\n', pos);
        if (e == std::string::npos) e = m.text.size();
        o << "| " << m.text.substr(pos, e - pos) << "\n";
        pos = e + 1;
    }
    if (!m.attachments.empty()) {
        o << "\nAttachments:\n";
        for (const auto& a : m.attachments) {
            o << "- " << (a.filename.empty() ? std::string("(no name)") : a.filename) << "  " << a.declared_type;
            if (!a.sniffed_type.empty() && a.sniffed_type != a.declared_type) o << " (looks like " << a.sniffed_type << ")";
            o << ", " << a.size << " bytes";
            if (a.is_inline) o << ", inline";
            if (!a.content_id.empty()) o << ", cid " << a.content_id;
            if (a.in_forwarded) o << ", in forwarded mail";
            o << "\n";
        }
    }
    for (const auto& f : m.forwarded) {
        o << "\nForwarded: " << f.subject << " from " << format_addresses(f.from) << " (" << f.text.size()
          << " bytes of text)\n";
    }
    if (!m.problems.empty()) {
        o << "\nProblems:\n";
        for (const auto& p : m.problems) o << "- " << p << "\n";
    }
    return o.str();
}

} // namespace rapport::mime
