// api_client.cc - see api_client.h.

#include "daemon/ctl/api_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "daemon/lib/config.h"

#include <chrono>
#include <fstream>
#include <iostream>
#include <stdexcept>

namespace rapport::ctl {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using json = nlohmann::json;

std::optional<std::string> read_line_file(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    if (!in || !std::getline(in, line)) return std::nullopt;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    return line;
}

Reply call(const std::string& state, http::verb verb, const std::string& target) {
    auto addr = read_line_file(state + "/http-address");
    auto token = read_line_file(state + "/api-token");
    if (!addr || !token)
        throw std::runtime_error("no running rapportd found in " + state +
                                 " (no http-address or api-token there); start rapportd, or pass --state DIR");
    auto hp = rapport::daemon::parse_host_port(*addr, state + "/http-address");
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::seconds(30));
    beast::error_code ec;
    auto eps = resolver.resolve(hp.host, std::to_string(hp.port), ec);
    if (!ec) stream.connect(eps, ec);
    if (ec) throw std::runtime_error("cannot reach rapportd at " + *addr + ": " + ec.message() + " (is it running?)");
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, *addr);
    req.set(http::field::authorization, "Bearer " + *token);
    req.set(http::field::user_agent, "rapportctl");
    req.prepare_payload();
    http::write(stream, req, ec);
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(256 * 1024 * 1024);
    if (!ec) http::read(stream, buf, parser, ec);
    if (ec) throw std::runtime_error("talking to rapportd at " + *addr + ": " + ec.message());
    return {parser.get().result_int(), parser.get().body()};
}

json parse_json(const Reply& r) {
    json j = json::parse(r.body, nullptr, false);
    if (j.is_discarded()) throw std::runtime_error("rapportd answered " + std::to_string(r.status) + " with something that is not JSON");
    return j;
}

int fail(const Reply& r) {
    json j = json::parse(r.body, nullptr, false);
    std::string msg = !j.is_discarded() && j.is_object() && j.contains("message") && j["message"].is_string()
                          ? j["message"].get<std::string>()
                          : "HTTP " + std::to_string(r.status);
    std::cerr << "rapportctl: " << msg << "\n";
    return 1;
}

} // namespace rapport::ctl
